// tollgate::adapters — an HTTP/1.1 client for one host: a keep-alive
// connection pool, TLS with verification, a deadline on every step, and
// response bodies handed over chunk by chunk as they arrive.
//
// The implementation (Beast over Asio) lives in http_client.cpp; this header
// carries no Beast type.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "adapters/http/cancel.hpp"
#include "adapters/http/connection_options.hpp"
#include "adapters/expected.hpp"

namespace tollgate::adapters {

// A base URL taken apart: "https://api.x.com:8443/v1" → tls, "api.x.com",
// "8443", "/v1".
struct HttpEndpoint {
  bool tls = true;
  std::string host;
  std::string port;
  std::string path_prefix;  // no trailing slash; may be empty
};
// Accepts http:// and https:// URLs (RFC 3986, read by Boost.URL) without
// user info, query or fragment, with a port from 1 to 65535 if any; the
// error says what is wrong and what to write.
Expected<HttpEndpoint> parse_base_url(std::string_view url);

struct HttpResponseHead {
  int status = 0;
  std::string content_type;
  // Retry-After in seconds or as an HTTP date, converted to a wait.
  std::optional<std::chrono::milliseconds> retry_after;
};

enum class TransportErrorKind : uint8_t {
  connect,              // DNS or TCP connect failed
  tls,                  // handshake or certificate verification failed
  timeout_connect,
  timeout_first_byte,
  timeout_idle,
  timeout_total,        // also: waited too long for a pooled connection
  reset,                // the connection closed or reset mid-exchange
  truncated,            // the body ended before its declared end
  too_large,            // the body exceeded max_response_bytes
  protocol,             // not valid HTTP/1.1
  queue_full,           // pool and wait queue are full
  cancelled,            // the caller cancelled
  aborted,              // the sink asked to stop reading
};

struct TransportError {
  TransportErrorKind kind;
  std::string message;  // what happened, for people; never contains headers
  // The whole request had been written when it failed: the server may have
  // acted on it (a provider bills a prompt it read, answered or not).
  bool request_sent = false;
};

// Receives one response. Calls are sequential (on the exchange's strand):
// on_head at most once, then on_body any number of times, then on_done
// exactly once (with no error when the body completed).
class HttpSink {
 public:
  virtual ~HttpSink() = default;
  virtual void on_head(const HttpResponseHead& head) = 0;
  // Return false to stop: the connection is closed, on_done gets `aborted`.
  virtual bool on_body(std::string_view chunk) = 0;
  virtual void on_done(std::optional<TransportError> error) = 0;
};

struct HttpClientOptions {
  HttpEndpoint endpoint;
  // Sent with every request (auth, version, extras). Values may be secret:
  // they are never logged or echoed in errors.
  std::vector<std::pair<std::string, std::string>> headers;
  ConnectionOptions connection;
};

// Thread-safety: every method may be called from any thread at once.
class HttpClient {
 public:
  // Fails when the TLS context cannot be set up (an unreadable CA file).
  static Expected<std::shared_ptr<HttpClient>> create(boost::asio::any_io_executor executor,
                                                      HttpClientOptions options);
  virtual ~HttpClient() = default;

  // POSTs `body` (application/json) to path_prefix + path. The sink's calls
  // never run inline within this call. `cancel` may be null.
  virtual void async_post(std::string_view path, std::string body,
                          std::shared_ptr<HttpSink> sink,
                          std::shared_ptr<CancelSignal> cancel) = 0;

  // Connections open now (in use or idle) and requests waiting for one.
  virtual std::size_t open_connections() const = 0;
  virtual std::size_t queued() const = 0;
};

}  // namespace tollgate::adapters
