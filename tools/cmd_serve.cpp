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

constexpr const char* kUsage =
    "usage: tollgate serve --policy P [--policy P2 ...] --keys KEYS.json\n"
    "                      [--listen 127.0.0.1:8080] [--catalog C] [--ledger DB]\n"
    "                      [--upstream NAME=URL]... [--durability async|sync]\n"
    "                      [--threads N] [--engine-threads N] [--max-connections N]\n"
    "                      [--busy-poll-us 0] [--grace-ms 10000]\n"
    "                      [--log stderr|stdout|off|FILE] [--log-prompts]\n"
    "  --upstream NAME=URL  send provider NAME's requests to URL ('*' for every\n"
    "                       provider), e.g. --upstream '*=http://127.0.0.1:8089/v1'\n"
    "  --threads N          I/O threads (default 2); the engine runs on them too, so a\n"
    "                       request stays on the thread it arrived on; with 1, no\n"
    "                       strands are needed, the cheapest per request\n"
    "  --engine-threads N   give the engine N threads of its own instead\n"
    "  --busy-poll-us N     an idle I/O thread polls N microseconds before it sleeps:\n"
    "                       lower latency on a VM, at up to a CPU per I/O thread\n"
    "                       while traffic flows (default 0, off)\n"
    "  KEYS.json            {\"keys\": [{\"key\": \"...\", \"team\": \"support\", \"user\": \"bot\"}]}\n";

int usage_error(const std::string& message) {
  std::cerr << "tollgate serve: " << message << "\n" << kUsage;
  return 2;
}

bool parse_count(const std::string& text, long min, long max, long& out) {
  try {
    std::size_t used = 0;
    out = std::stol(text, &used);
    return used == text.size() && out >= min && out <= max;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

int cmd_serve(const Args& in) {
  Args args = in;
  if (take_switch(args, "--help")) return std::cout << kUsage, 0;
  Options opts;
  opts.durability = Durability::async;  // rows commit within ms; SIGTERM flushes
  std::string value, listen = "127.0.0.1:8080", keys_path, log_where = "stderr";
  while (take_flag(args, "--policy", value)) opts.policy_paths.push_back(value);
  take_flag(args, "--catalog", opts.catalog_path);
  take_flag(args, "--ledger", opts.ledger_path);
  take_flag(args, "--listen", listen);
  take_flag(args, "--keys", keys_path);
  take_flag(args, "--log", log_where);
  const bool log_prompts = take_switch(args, "--log-prompts");
  while (take_flag(args, "--upstream", value)) {
    const auto eq = value.find('=');
    if (eq == std::string::npos || eq == 0) return usage_error("--upstream wants NAME=URL");
    opts.base_url_overrides[value.substr(0, eq)] = value.substr(eq + 1);
  }
  if (take_flag(args, "--durability", value)) {
    if (value != "async" && value != "sync") return usage_error("--durability is async or sync");
    opts.durability = value == "sync" ? Durability::sync : Durability::async;
  }
  adapters::GatewayServerOptions server_opts;
  long n = 0, grace_ms = 10'000;
  bool own_engine_threads = false;
  if (take_flag(args, "--threads", value)) {
    if (!parse_count(value, 1, 256, n)) return usage_error("--threads wants 1..256");
    server_opts.threads = static_cast<unsigned>(n);
  }
  if (take_flag(args, "--engine-threads", value)) {
    if (!parse_count(value, 1, 256, n)) return usage_error("--engine-threads wants 1..256");
    opts.threads = static_cast<unsigned>(n);
    own_engine_threads = true;
  }
  if (take_flag(args, "--max-connections", value)) {
    if (!parse_count(value, 1, 1'000'000, n)) return usage_error("--max-connections wants a positive number");
    server_opts.max_connections = static_cast<std::size_t>(n);
  }
  if (take_flag(args, "--busy-poll-us", value)) {
    if (!parse_count(value, 0, 1'000'000, n)) return usage_error("--busy-poll-us wants 0..1000000 microseconds");
    server_opts.busy_poll = std::chrono::microseconds(n);
  }
  if (take_flag(args, "--grace-ms", value) && !parse_count(value, 0, 3'600'000, grace_ms))
    return usage_error("--grace-ms wants milliseconds");
  if (!args.empty()) return usage_error("unexpected argument '" + args.front() + "'");
  if (opts.policy_paths.empty()) return usage_error("--policy is required");
  if (keys_path.empty()) return usage_error("--keys is required: requests are billed to the team of their key");
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || !parse_count(listen.substr(colon + 1), 0, 65535, n))
    return usage_error("--listen wants HOST:PORT");
  server_opts.address = listen.substr(0, colon);
  server_opts.port = static_cast<uint16_t>(n);
  server_opts.error_response = transport_error_response;

  auto keys = KeyTable::load(keys_path);
  if (!keys.ok()) return std::cerr << "tollgate serve: " << keys.error().message() << "\n", 2;
  auto log = RequestLog::open(log_where);
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
