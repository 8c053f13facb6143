// tollgate::adapters — a small HTTP/1.1 server for `tollgate serve`: the
// transport only. It knows nothing about OpenAI, keys or teams; a Handler
// gets each request and answers through a Responder, at once or later, from
// any thread, as one body or as a chunked stream (SSE).
//
//   GatewayServer::start({.port = 8080}, [](HttpRequest req, std::shared_ptr<Responder> out) {
//     out->respond({.status = 200, .body = "ok"});
//   });
//
// Per connection: one strand, keep-alive, a deadline on every read and write,
// a body limit on the parser. Connections are bounded (beyond the limit a
// client gets 503 and is closed). stop() closes the listener, lets requests
// in flight finish up to a deadline, then closes everything.
//
// No Beast or Asio type appears here: they stay in gateway_server.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/expected.hpp"

namespace tollgate::adapters {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query: "/v1/spend?team=support"
  HttpHeaders headers; // names lower-cased
  std::string body;

  // The first header of that (lower-case) name; empty when absent.
  std::string_view header(std::string_view lower_name) const;
  std::string_view path() const;   // target without the query
  std::string_view query() const;  // after '?', empty when none
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  HttpHeaders headers;  // extra headers; Content-Length and Connection are the server's
  std::string body;
};

// The answer channel of one request. Exactly one of respond() or
// begin_stream() takes effect; later calls are ignored. Every method may be
// called from any thread and never blocks: writes are queued for the
// connection's strand. A Responder dropped without an answer sends 500, so a
// request cannot hang for lack of a reply.
class Responder {
 public:
  virtual ~Responder() = default;
  virtual void respond(HttpResponse response) = 0;
  // Starts a chunked response (status 200 unless given): headers go out now,
  // each write() is one chunk, finish() ends the response.
  virtual void begin_stream(std::string content_type, HttpHeaders headers = {}, int status = 200) = 0;
  virtual void write(std::string chunk) = 0;
  virtual void finish() = 0;
  // True once the client is known to be gone (a write failed, the server
  // stopped, the stream backlog overflowed): further output is dropped, so
  // the producer may as well cancel its work.
  virtual bool closed() const = 0;
  // Runs `fn` once, on an I/O thread, if the client goes before the answer
  // is complete: it closed its connection while waiting (checked as nginx
  // does, so a client that half-closes after its request counts as gone),
  // a write failed, the stream backlog overflowed, or no answer came within
  // response_timeout. At once if that already happened. The producer uses
  // it to cancel work nobody will read.
  virtual void on_close(std::function<void()> fn) = 0;
};

using Handler = std::function<void(HttpRequest request, std::shared_ptr<Responder> responder)>;

struct GatewayServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;     // 0: any free port (see port())
  unsigned threads = 2;  // I/O threads; the handler runs on them, so it must not block
  std::size_t max_connections = 1024;
  std::size_t max_body_bytes = 8u << 20;
  std::size_t max_header_bytes = 64u << 10;
  // A connection idle between requests is closed after this; a request's
  // header and body must arrive within it too.
  std::chrono::milliseconds read_timeout{60'000};
  // A client that stops reading is dropped after this, per write.
  std::chrono::milliseconds write_timeout{30'000};
  // The handler must answer (or begin a stream) within this, and a stream
  // must not go silent longer than this; past it the client gets
  // `timeout_response` (or the stream is cut).
  std::chrono::milliseconds response_timeout{300'000};
  // A stream whose client reads slower than it is written is cut when this
  // many bytes wait to be sent: memory stays bounded without blocking writers.
  std::size_t max_stream_backlog_bytes = 8u << 20;
  // After its last event an I/O thread keeps checking for work this long
  // before it sleeps (server/io_loop.hpp): lower latency on a VM, at the
  // price of up to a CPU per I/O thread while traffic flows. 0: sleep at once.
  std::chrono::microseconds busy_poll{0};
  // The body of the answers the server gives itself: 400 (unparsable
  // request), 413 (body too large), 431 (headers too large), 503 (too many
  // connections), 504 (no answer within response_timeout), 500 (the handler
  // dropped its Responder). Default: {"error": "<message>"}.
  std::function<HttpResponse(int status, std::string_view message)> error_response;
};

class GatewayServer {
 public:
  // Binds and starts serving; fails when the address cannot be bound.
  static Expected<std::unique_ptr<GatewayServer>> start(GatewayServerOptions options, Handler handler);
  // Stops at once if stop() was not called (in-flight requests are cut).
  virtual ~GatewayServer() = default;

  virtual uint16_t port() const = 0;
  // Stops accepting, closes idle connections, waits until requests in
  // flight are answered or `grace` passes, then closes every connection
  // (later output for those requests is dropped). Returns the number of
  // requests that were still unanswered (cut). The I/O threads run on until
  // the destructor (see gateway_executor.hpp).
  // Call once, from a thread that is not one of the server's.
  virtual std::size_t stop(std::chrono::milliseconds grace) = 0;

  virtual std::size_t open_connections() const = 0;
  virtual std::size_t requests_in_flight() const = 0;

 protected:
  GatewayServer() = default;
};

}  // namespace tollgate::adapters
