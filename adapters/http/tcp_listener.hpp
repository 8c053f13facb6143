// tollgate::adapters — the listening socket of the servers in adapters/ (the
// gateway, the mock provider): one place for the acceptor's options and for
// the error a person reads when the address cannot be bound.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "adapters/expected.hpp"

namespace tollgate::adapters {

// An acceptor bound to address:port (0: any free port) with SO_REUSEADDR,
// listening with the system's backlog. `who` prefixes the error message
// ("gateway", "mock").
Expected<boost::asio::ip::tcp::acceptor> open_tcp_listener(const boost::asio::any_io_executor& executor,
                                                           const std::string& address, uint16_t port,
                                                           std::string_view who);

}  // namespace tollgate::adapters
