// Asio's non-template code, compiled once for all of tollgate
// (BOOST_ASIO_SEPARATE_COMPILATION is set on tollgate_asio and reaches only
// tollgate's own targets). Asio, its SSL part and Beast are three
// translation units, so three members of libtollgate_asio.a: an embedder
// that compiles one of them itself (boost/asio/impl/src.hpp, say) defines
// its symbols first, the linker never pulls tollgate's copy of that one, and
// no symbol is defined twice.
// GCC 12 with sanitizers reports -Wmaybe-uninitialized inside these system
// headers; a false positive.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio/impl/src.hpp>
#pragma GCC diagnostic pop
