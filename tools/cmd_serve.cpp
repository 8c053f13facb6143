// tollgate serve — an OpenAI-compatible gateway in front of the engine
// (server/serve_app.hpp has the endpoints; server/gateway_server.hpp the
// HTTP transport).
//
// Signals: SIGTERM / SIGINT stop accepting, let requests in flight finish
// (up to --grace-ms), flush the ledger and exit 0. SIGHUP reloads the policy
// and the keys file, each on its own: a broken one is refused and logged, and
// the running one keeps serving.
// The signals are blocked in every thread and taken by sigwait() here, so
// no handler runs in an async-signal context.
#include <atomic>
#include <charconv>
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "server/gateway_executor.hpp"
#include "server/gateway_server.hpp"
#include "tollgate/async.hpp"
#include "tollgate/engine.hpp"
#include "tools/commands.hpp"
#include "server/serve_app.hpp"
#include "server/serve_errors.hpp"
#include "server/serve_keys.hpp"
#include "server/serve_log.hpp"

namespace tollgate::tools {
namespace {

// The ledger reports a failure about once a second while it lasts (each
// retry of the rows it holds): the log gets the first, any change of
// message, and a reminder a minute, not a line a second.
std::function<void(const Error&)> ledger_error_logger(RequestLog& log) {
  struct Last {
    std::mutex mu;
    std::string message;
    std::chrono::steady_clock::time_point at;
  };
  auto last = std::make_shared<Last>();
  return [&log, last](const Error& e) {
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(last->mu);
      if (e.message() == last->message && now - last->at < std::chrono::minutes(1)) return;
      last->message = e.message();
      last->at = now;
    }
    log.write({{"event", "ledger_error"}, {"error", e.what()}});
  };
}

}  // namespace

std::optional<std::pair<std::string, uint16_t>> split_host_port(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  const char* end = text.data() + text.size();
  uint16_t port = 0;
  const auto [stop, ec] = std::from_chars(text.data() + colon + 1, end, port);  // 65536 is out of range
  if (ec != std::errc() || stop != end) return std::nullopt;
  return std::pair{text.substr(0, colon), port};
}

std::optional<std::pair<std::string, std::string>> split_upstream(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) return std::nullopt;
  return std::pair{text.substr(0, eq), text.substr(eq + 1)};
}

// The flags were checked by the parser (tools/main.cpp): ranges, --listen,
// --upstream, --durability.
int cmd_serve(const ServeArgs& args) {
  Options opts;
  opts.policy_paths = args.policies;
  opts.catalog_path = args.catalog;
  opts.ledger_path = args.ledger;
  // async: rows commit within ms; SIGTERM flushes.
  opts.durability = args.durability == "sync" ? Durability::sync : Durability::async;
  opts.shared_caps = args.shared_caps;
  opts.lease_ttl_ms = args.lease_ttl_ms;
  for (const std::string& upstream : args.upstreams)
    if (auto split = split_upstream(upstream)) opts.base_url_overrides[split->first] = split->second;
  adapters::GatewayServerOptions server_opts;
  server_opts.threads = args.threads;
  const bool own_engine_threads = args.engine_threads > 0;
  if (own_engine_threads) opts.threads = args.engine_threads;
  server_opts.max_connections = args.max_connections;
  server_opts.busy_poll = std::chrono::microseconds(args.busy_poll_us);
  const long grace_ms = args.grace_ms;
  const std::string& keys_path = args.keys;
  const bool log_prompts = args.log_prompts;
  const auto listen = split_host_port(args.listen);
  if (!listen) return std::cerr << "tollgate serve: --listen wants HOST:PORT\n", 2;
  server_opts.address = listen->first;
  server_opts.port = listen->second;
  server_opts.error_response = transport_error_response;

  auto keys = KeyTable::load(keys_path);
  if (!keys.ok()) return std::cerr << "tollgate serve: " << keys.error().message() << "\n", 2;
  auto log = RequestLog::open(args.log);
  if (!log.ok()) return std::cerr << "tollgate serve: " << log.error().message() << "\n", 2;
  opts.on_ledger_error = ledger_error_logger(**log);

  // Before any thread starts, so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // The server starts first: the engine shares its I/O threads (unless
  // --engine-threads), so a request is read, routed, sent upstream and
  // answered on one thread, with no hand-offs. Until the app exists (no port
  // is printed yet) a request gets a 503.
  std::atomic<ServeApp*> live_app{nullptr};
  auto server = adapters::GatewayServer::start(
      server_opts, [&live_app](adapters::HttpRequest req, std::shared_ptr<adapters::Responder> out) {
        if (ServeApp* a = live_app.load(std::memory_order_acquire)) return a->handle(std::move(req), std::move(out));
        out->respond(transport_error_response(503, "the gateway is starting; retry shortly"));
      });
  if (!server.ok()) return std::cerr << "tollgate serve: " << server.error() << "\n", 2;
  auto engine = own_engine_threads ? Engine::create(opts) : create_engine(opts, adapters::gateway_executor(**server));
  if (!engine.ok()) return std::cerr << "tollgate serve: " << engine.error().what() << "\n", 1;
  const std::size_t key_count = keys->size();
  auto app = std::make_unique<ServeApp>(**engine, std::move(*keys), **log, ServeAppOptions{log_prompts});
  live_app.store(app.get(), std::memory_order_release);
  adapters::GatewayServer& srv = **server;
  app->set_extra_metrics([&srv] {
    return "# HELP tollgate_open_connections Client connections open now.\n"
           "# TYPE tollgate_open_connections gauge\n"
           "tollgate_open_connections " + std::to_string(srv.open_connections()) + "\n"
           "# HELP tollgate_requests_in_flight Requests read and not yet answered.\n"
           "# TYPE tollgate_requests_in_flight gauge\n"
           "tollgate_requests_in_flight " + std::to_string(srv.requests_in_flight()) + "\n";
  });
  const std::string url = "http://" + server_opts.address + ":" + std::to_string(srv.port());
  (*log)->write({{"event", "start"}, {"listen", url}, {"keys", key_count}, {"policy", opts.policy_paths}});
  std::cout << "tollgate serve listening on " << url << std::endl;  // tests and scripts read the port here

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      // The policy and the keys file are reloaded each on its own: a broken
      // one is refused (its error logged) and the running one stays.
      auto policy = (*engine)->reload();
      auto fresh_keys = KeyTable::load(keys_path);
      nlohmann::json line = {{"event", "reload"}, {"ok", policy.ok() && fresh_keys.ok()},
                             {"policy_ok", policy.ok()}, {"keys_ok", fresh_keys.ok()}};
      if (!policy.ok()) line["error"] = policy.error().what();
      if (fresh_keys.ok()) {
        app->replace_keys(std::move(*fresh_keys));
      } else {
        line["keys_error"] = fresh_keys.error().message();
      }
      line["keys"] = app->key_count();
      (*log)->write(std::move(line));
      continue;
    }
    break;
  }
  app->set_stopping();
  const std::size_t cut = srv.stop(std::chrono::milliseconds(grace_ms));
  auto flushed = (*engine)->flush();
  nlohmann::json line = {{"event", "stop"}, {"unanswered", cut}, {"ledger_flushed", flushed.ok()}};
  if (!flushed.ok()) line["error"] = flushed.error().what();
  // The engine goes first: its late callbacks still reach the app, and its
  // I/O may run on the server's threads, which stop() left running.
  engine->reset();
  server->reset();
  live_app.store(nullptr);
  app.reset();
  (*log)->write(std::move(line));
  return flushed.ok() ? 0 : 1;
}

}  // namespace tollgate::tools
