// tollgate::adapters — how a provider's HTTP connections behave: pool
// size, deadlines, TLS verification, response size limit. Every field has a
// default that works for a public HTTPS API.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace tollgate::adapters {

struct ConnectionOptions {
  // Most connections open to this host at once. Requests beyond it wait for
  // a connection (bounded by max_queued and by total_timeout). Idle
  // connections are kept alive for reuse. Default: 32.
  std::size_t pool_size = 32;
  // Requests waiting for a connection beyond which new ones fail at once
  // (retryable: another candidate may have room). Default: 4096.
  std::size_t max_queued = 4096;

  // Deadlines. connect covers DNS, TCP and the TLS handshake; first_byte runs
  // from sending the request to the response headers (a model's queueing and
  // prefill time, so generous); idle is the longest gap between body chunks
  // of a response (SSE or not); total bounds the whole call, including the
  // wait for a pooled connection.
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds first_byte_timeout{120'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds total_timeout{600'000};

  // TLS: certificates and host name are verified against the system CA store
  // by default. ca_file adds a PEM bundle (a private CA). verify_tls = false
  // disables verification entirely — for a test bench only, never production.
  std::string ca_file;
  bool verify_tls = true;

  // A response body larger than this fails (FailureKind::malformed, "exceeded")
  // instead of exhausting memory. Default: 16 MiB.
  std::size_t max_response_bytes = 16u << 20;
};

}  // namespace tollgate::adapters
