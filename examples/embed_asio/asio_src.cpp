// The service compiles Asio's sources itself (EMBED_ASIO_SEPARATE=ON).
#include <boost/asio/impl/src.hpp>
