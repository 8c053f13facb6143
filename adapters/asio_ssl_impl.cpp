// Asio's SSL code, compiled once (see asio_impl.cpp for why apart).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio/ssl/impl/src.hpp>
#pragma GCC diagnostic pop
