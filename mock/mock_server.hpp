// tollgate::adapters — the mock provider: a real HTTP server on loopback
// that speaks the OpenAI chat-completions and Anthropic Messages wire
// formats, scripted per model name (or per request, with the
// x-mock-script header), and counts its calls for test assertions.
//
//   auto mock = MockServer::start({}).value();
//   mock->script("slow-model", {.latency = 200ms, .tokens_per_second = 50});
//   mock->script("flaky", {.fault = MockFault::rate_limit, .fail_times = 1});
//   ProviderConfig p{.name = "mock", .base_url = mock->base_url()};
//   ... mock->calls("flaky") == 2
//
// Endpoints: POST <any prefix>/chat/completions (OpenAI) and
// POST <any prefix>/messages (Anthropic). Model names not scripted get the
// default behaviour: an immediate answer.
//
// Thread-safety: every method may be called from any thread at once, also
// while requests are served. It runs its own threads; the destructor stops
// them and closes every connection.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "mock/mock_script.hpp"
#include "adapters/expected.hpp"

namespace tollgate::adapters {

struct MockServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;     // 0: any free port (see MockServer::port())
  unsigned threads = 1;  // I/O threads; 2+ for load tests
  // Both set (PEM text): serve HTTPS with this certificate chain and key.
  std::string tls_cert_pem;
  std::string tls_key_pem;
  // Non-empty: requests must carry it ("Authorization: Bearer <key>" or
  // "x-api-key: <key>"), else 401 — for tests of key handling.
  std::string api_key;
  MockBehavior default_behavior;
};

class MockServer {
 public:
  // Fails when the address cannot be bound or the
  // certificate does not load.
  static Expected<std::unique_ptr<MockServer>> start(MockServerOptions options);
  virtual ~MockServer() = default;

  virtual uint16_t port() const = 0;
  // "http://127.0.0.1:<port>/v1" (https when TLS is on): a provider's base_url.
  virtual std::string base_url() const = 0;

  // Sets the behaviour for one model name (and restarts its fail_times count).
  virtual void script(std::string model, MockBehavior behavior) = 0;
  virtual void set_default(MockBehavior behavior) = 0;

  // Requests received for a model (every request, faulted or not).
  virtual int64_t calls(std::string_view model) const = 0;
  virtual int64_t total_calls() const = 0;
  // Calls answered with this fault (`none`: answered normally), scripted,
  // random or context-length; a malformed or unparsable request is not counted.
  virtual int64_t injected(MockFault fault) const = 0;
  // Client connections open now.
  virtual std::size_t open_connections() const = 0;

 protected:
  MockServer() = default;
};

}  // namespace tollgate::adapters
