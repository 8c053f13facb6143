// The one translation unit that compiles Asio's and Beast's non-template
// code (BOOST_ASIO_SEPARATE_COMPILATION / BOOST_BEAST_SEPARATE_COMPILATION
// are set on tollgate_adapters). Every other file includes only headers.
// GCC 12 with sanitizers reports -Wmaybe-uninitialized inside Beast's parser
// (boost::optional in basic_parser); a false positive in a system header.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
#pragma GCC diagnostic pop
