// tollgate::adapters — the gateway server's I/O executor, for work that
// should run on the gateway's own threads rather than hop to threads of its
// own: `tollgate serve` builds its engine on it (tollgate::create_engine),
// so a request is read, routed, sent upstream and answered without leaving
// the thread it arrived on.
//
// Apart from gateway_server.hpp so that header stays free of Asio types.
// The executor is valid until the server is destroyed; GatewayServer::stop()
// keeps running it, so whatever shares it can finish and tear down first.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include "server/gateway_server.hpp"

namespace tollgate::adapters {

// REQUIRES: `server` came from GatewayServer::start.
boost::asio::any_io_executor gateway_executor(GatewayServer& server);

}  // namespace tollgate::adapters
