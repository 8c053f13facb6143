// `tollgate serve`: the gateway's endpoints on top of an Engine.
//
//   POST /v1/chat/completions  OpenAI-compatible, plain or SSE (stream: true)
//   GET  /v1/models            the models the policy can route to
//   GET  /v1/spend?team=&window=  spend, cap and reserved per window
//   POST /v1/quality           score an answer ({"request_id", "score", "source"})
//   GET  /metrics              Prometheus text
//   GET  /healthz              200 while serving, 503 once stopping
//
// /v1/* needs `Authorization: Bearer <key>` from the keys file (else 401);
// the key's team pays and is the only team whose spend it can read, unless
// the key is an admin key. Every answer to /v1/* writes one log line.
//
// handle() never blocks: chat requests go to Engine::async_complete /
// async_stream and are answered from the engine's callback.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "server/gateway_server.hpp"
#include "tollgate/engine.hpp"
#include "server/serve_keys.hpp"
#include "server/serve_log.hpp"

namespace tollgate::engine {
class EngineImpl;
}
#include "server/serve_metrics.hpp"

namespace tollgate::tools {

struct ServeAppOptions {
  bool log_prompts = false;  // put the request's messages in its log line
};

class ServeApp {
 public:
  // `engine` and `log` are borrowed and must outlive every request the app
  // started, including the engine's late callbacks: destroy the engine first.
  ServeApp(Engine& engine, KeyTable keys, RequestLog& log, ServeAppOptions options = {});

  void handle(adapters::HttpRequest request, std::shared_ptr<adapters::Responder> out);

  // Swaps the key table (SIGHUP): requests that already have their key
  // finish with it, later ones see the new table. Any thread.
  void replace_keys(KeyTable keys);
  std::size_t key_count() const { return current_keys()->size(); }

  // GET /healthz turns 503 so load balancers drain the instance.
  void set_stopping() { stopping_ = true; }
  // Extra Prometheus text appended to /metrics (e.g. open connections).
  void set_extra_metrics(std::function<std::string()> fn) { extra_metrics_ = std::move(fn); }
  const Metrics& metrics() const { return metrics_; }

 private:
  struct Call;
  using Clock = std::chrono::steady_clock;

  void chat(const adapters::HttpRequest& http, const KeyInfo& key, std::shared_ptr<adapters::Responder> out,
            Clock::time_point start);
  void models(const std::shared_ptr<adapters::Responder>& out) const;
  void spend(const adapters::HttpRequest& http, const KeyInfo& key, const std::shared_ptr<adapters::Responder>& out) const;
  void quality(const adapters::HttpRequest& http, const KeyInfo& key, const std::shared_ptr<adapters::Responder>& out);
  std::string metrics_text() const;
  // Log line and metrics for a chat request that ended (ok or not).
  void account(const Call& call, int status, const Response* response, const std::string* error);

  std::shared_ptr<const KeyTable> current_keys() const;

  Engine& engine_;
  // The same engine as tollgate's own implementation, or null for another
  // Engine (a test double). The gateway ships with the engine, so it may
  // reach inside: the policy's models, the ledger for scores.
  engine::EngineImpl* const impl_;
  mutable std::mutex keys_mu_;
  std::shared_ptr<const KeyTable> keys_;  // guarded by keys_mu_; replaced whole, never changed
  RequestLog& log_;
  const ServeAppOptions options_;
  Metrics metrics_;
  std::atomic<bool> stopping_{false};
  std::function<std::string()> extra_metrics_;
};

}  // namespace tollgate::tools
