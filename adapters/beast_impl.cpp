// Beast's non-template code, compiled once (see asio_impl.cpp for why
// apart). GCC 12 with sanitizers reports -Wmaybe-uninitialized inside
// Beast's parser (boost::optional in basic_parser); a false positive in a
// system header.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/beast/src.hpp>
#pragma GCC diagnostic pop
