#include "adapters/http/tcp_listener.hpp"

namespace tollgate::adapters {

Expected<boost::asio::ip::tcp::acceptor> open_tcp_listener(const boost::asio::any_io_executor& executor,
                                                           const std::string& address, uint16_t port,
                                                           std::string_view who) {
  namespace net = boost::asio;
  boost::system::error_code ec;
  const auto ip = net::ip::make_address(address, ec);
  if (ec) return Unexpected(std::string(who) + ": bad address '" + address + "'");
  net::ip::tcp::acceptor acceptor(executor);
  const net::ip::tcp::endpoint ep(ip, port);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Unexpected(std::string(who) + ": cannot listen on " + address + ":" + std::to_string(port) + ": " +
                      ec.message());
  }
  return acceptor;
}

}  // namespace tollgate::adapters
