#include "server/serve_app.hpp"

#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/engine_impl.hpp"
#include "engine/ledger/ledger.hpp"
#include "engine/stream_options.hpp"
#include "server/serve_errors.hpp"
#include "server/serve_openai.hpp"
#include "server/serve_tags.hpp"

namespace tollgate::tools {

using adapters::HttpRequest;
using adapters::HttpResponse;
using adapters::Responder;

// What a chat request's callbacks need after handle() has returned.
struct ServeApp::Call {
  std::string request_id, team, user;
  Tags tags;
  bool stream = false;
  bool wants_usage = false;
  Clock::time_point start;
  std::shared_ptr<Responder> out;
  nlohmann::json messages;  // only with log_prompts

  // Streaming: guarded by mu (deltas and the end may run on different
  // engine threads, one after another).
  std::mutex mu;
  bool started = false;
  bool usage_sent = false;
  std::string chunk_id;
  adapters::HttpHeaders head;  // what the engine named just before the first chunk

  std::shared_ptr<Cancellation> cancel;  // set before the engine starts; fired when the client goes
};

namespace {

// The headers that say what the gateway did (docs/serve.md), but the cost,
// which a stream learns only at its end.
adapters::HttpHeaders what_was_done(std::string_view request_id, std::string_view route, std::string_view model,
                                    bool cache_hit) {
  return {{"x-request-id", std::string(request_id)},
          {"x-tollgate-route", std::string(route)},
          {"x-tollgate-model", std::string(model)},
          {"x-tollgate-cache", cache_hit ? "hit" : "miss"}};
}

adapters::HttpHeaders what_was_done(const Response& r) {
  auto headers = what_was_done(r.request_id, r.route, r.model, r.cache_hit);
  headers.emplace_back("x-tollgate-cost-usd", decimal_nanos(r.cost.nanos));
  return headers;
}

void open_stream(Responder& out, adapters::HttpHeaders headers) {
  headers.emplace_back("x-accel-buffering", "no");
  out.begin_stream("text/event-stream", std::move(headers));
}

// A stream's cost, known only at its end, as an SSE comment just before
// [DONE] (docs/serve.md): SSE parsers skip comments, so the official
// clients read on undisturbed.
std::string cost_comment(Money cost) { return ": x-tollgate-cost-usd: " + decimal_nanos(cost.nanos) + "\n\n"; }

HttpResponse json_response(int status, const nlohmann::json& body) {
  return HttpResponse{status, "application/json", {}, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

// A whole answer as one chunk, for a stream that got no deltas (a cache hit
// replayed as one piece).
nlohmann::json whole_as_chunk(const Response& r) {
  const bool obj = r.body.is_object();
  nlohmann::json chunk = {{"id", obj ? r.body.value("id", r.request_id) : r.request_id},
                          {"object", "chat.completion.chunk"},
                          {"created", obj ? r.body.value("created", 0) : 0},
                          {"model", r.model}};
  nlohmann::json choices = nlohmann::json::array();
  if (auto c = r.body.find("choices"); c != r.body.end() && c->is_array()) {  // end() unless an object
    for (const auto& choice : *c) {
      nlohmann::json delta = choice.value("message", nlohmann::json::object());
      choices.push_back({{"index", choice.value("index", 0)},
                         {"delta", std::move(delta)},
                         {"finish_reason", choice.value("finish_reason", nlohmann::json(nullptr))}});
    }
  }
  chunk["choices"] = std::move(choices);
  return chunk;
}

}  // namespace

ServeApp::ServeApp(Engine& engine, KeyTable keys, RequestLog& log, ServeAppOptions options)
    : engine_(engine),
      impl_(dynamic_cast<engine::EngineImpl*>(&engine)),
      keys_(std::make_shared<const KeyTable>(std::move(keys))),
      log_(log),
      options_(options) {}

std::shared_ptr<const KeyTable> ServeApp::current_keys() const {
  std::lock_guard lock(keys_mu_);
  return keys_;
}

void ServeApp::replace_keys(KeyTable keys) {
  auto fresh = std::make_shared<const KeyTable>(std::move(keys));
  std::lock_guard lock(keys_mu_);
  keys_.swap(fresh);  // the old table is freed outside the lock, by the last request holding it
}

void ServeApp::handle(HttpRequest http, std::shared_ptr<Responder> out) {
  const auto start = Clock::now();
  const std::string_view path = http.path();
  if (path == "/healthz") {
    if (http.method != "GET" && http.method != "HEAD") return out->respond(error_response(method_not_allowed(http.method)));
    return out->respond(stopping_ ? json_response(503, {{"status", "stopping"}}) : json_response(200, {{"status", "ok"}}));
  }
  if (path == "/metrics") {
    if (http.method != "GET") return out->respond(error_response(method_not_allowed(http.method)));
    return out->respond(HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8", {}, metrics_text()});
  }

  const bool chat_path = path == "/v1/chat/completions" || path == "/chat/completions";
  const bool quality_path = path == "/v1/quality";
  const bool known = chat_path || quality_path || path == "/v1/models" || path == "/v1/spend";
  auto refuse = [&](const ApiError& e, const KeyInfo* key) {
    nlohmann::json line = {{"event", "request"}, {"method", http.method}, {"path", std::string(path.substr(0, 200))},
                           {"status", e.status}, {"error", e.code}};
    if (key) line["team"] = key->team;
    log_.write(std::move(line));
    if (chat_path) {
      MetricSample s;
      if (key) s.team = key->team;
      s.status = e.status;
      metrics_.record(s);
    }
    out->respond(error_response(e));
  };
  if (!known) return refuse(not_found(path), nullptr);
  // Held until handle() returns: `key` points into this table, and a SIGHUP
  // may replace the app's table meanwhile.
  const std::shared_ptr<const KeyTable> keys = current_keys();
  const KeyInfo* key = keys->find_bearer(http.header("authorization"));
  if (!key) return refuse(invalid_api_key(), nullptr);

  if (chat_path) {
    if (http.method != "POST") return refuse(method_not_allowed(http.method), key);
    return chat(http, *key, std::move(out), start);
  }
  if (quality_path) {
    if (http.method != "POST") return refuse(method_not_allowed(http.method), key);
    return quality(http, *key, out);
  }
  if (http.method != "GET") return refuse(method_not_allowed(http.method), key);
  if (path == "/v1/models") return models(out);
  return spend(http, *key, out);
}

void ServeApp::chat(const HttpRequest& http, const KeyInfo& key, std::shared_ptr<Responder> out, Clock::time_point start) {
  auto req = chat_request(http, key);
  auto call = std::make_shared<Call>();
  call->team = key.team;
  call->start = start;
  call->out = std::move(out);
  if (!req.ok()) {
    const ApiError e = api_error_from(req.error());
    account(*call, e.status, nullptr, &e.message);
    call->out->respond(error_response(e));
    return;
  }
  call->user = req->user;
  call->tags = req->tags;
  call->stream = req->stream;
  call->wants_usage = engine::wants_stream_usage(*req);
  call->request_id = req->id;
  if (options_.log_prompts) call->messages = req->body["messages"];

  // A client that hangs up stops its request: no one pays for tokens nobody
  // reads (the attempt in flight is cancelled; what it cost is charged).
  call->cancel = Cancellation::make();
  call->out->on_close([cancel = call->cancel] { cancel->cancel("the client closed the connection"); });

  if (!call->stream) {
    engine_.async_complete(std::move(*req), [this, call](Result<Response> r) {
      if (!r.ok()) {
        const ApiError e = api_error_from(r.error());
        account(*call, e.status, nullptr, &r.error().message());  // the log gets all of it
        return call->out->respond(error_response(e));
      }
      HttpResponse resp{200, "application/json", what_was_done(*r),
                        // The provider's own bytes when it spoke this format:
                        // nothing to serialize again.
                        r->body_text.empty()
                            ? r->body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                            : std::move(r->body_text)};
      account(*call, 200, &*r, nullptr);
      call->out->respond(std::move(resp));
    }, call->cancel);
    return;
  }

  auto on_delta = [call](const nlohmann::json& chunk) {
    std::lock_guard lock(call->mu);
    if (call->out->closed()) {
      call->cancel->cancel("the client closed the connection");  // stop paying for tokens nobody reads
      return;
    }
    if (!call->started) {
      // The head goes with the first chunk, once the model that answers is
      // known. An engine that names none (a test double) leaves the client's
      // own id, if it sent one.
      if (call->head.empty() && !call->request_id.empty()) call->head = {{"x-request-id", call->request_id}};
      call->started = true;
      open_stream(*call->out, std::move(call->head));
    }
    if (call->chunk_id.empty()) call->chunk_id = chunk.value("id", "");
    const auto usage = chunk.find("usage");
    const bool has_usage = usage != chunk.end() && !usage->is_null();
    if (has_usage && !call->wants_usage) {
      // The engine asks providers for usage to bill; the client did not.
      const auto choices = chunk.find("choices");
      if (choices == chunk.end() || !choices->is_array() || choices->empty()) return;
      nlohmann::json copy = chunk;
      copy.erase("usage");
      return call->out->write(sse_data(copy));
    }
    call->usage_sent = call->usage_sent || has_usage;
    call->out->write(sse_data(chunk));
  };
  auto on_end = [this, call](Result<Response> r) {
    std::lock_guard lock(call->mu);
    if (!r.ok()) {
      const ApiError e = api_error_from(r.error());
      account(*call, e.status, nullptr, &r.error().message());  // the log gets all of it
      if (!call->started) return call->out->respond(error_response(e));
      // Mid-stream: the official clients raise an APIError on an event
      // carrying "error".
      call->out->write(sse_data(nlohmann::json::parse(error_body(e))));
      return call->out->finish();
    }
    if (!call->started) {
      call->started = true;
      open_stream(*call->out, what_was_done(*r));  // no chunk came: all is known, the cost too
      call->out->write(sse_data(whole_as_chunk(*r)));
    }
    // Written here only when no chunk carried the provider's usage: what
    // the engine settled on is then its estimate (a cache hit's is the
    // cached answer's), marked as such.
    if (call->wants_usage && !call->usage_sent)
      call->out->write(sse_data(
          usage_chunk(*r, call->chunk_id.empty() ? r->request_id : call->chunk_id, !r->cache_hit)));
    call->out->write(cost_comment(r->cost));
    call->out->write(std::string(kSseDone));
    call->out->finish();
    account(*call, 200, &*r, nullptr);
  };
  if (!impl_) return engine_.async_stream(std::move(*req), std::move(on_delta), std::move(on_end), call->cancel);
  auto on_head = [call](const engine::StreamHead& h) {
    std::lock_guard lock(call->mu);
    call->head = what_was_done(h.request_id, h.route, h.model, h.cache_hit);
  };
  impl_->async_stream_with_head(std::move(*req), std::move(on_head), std::move(on_delta), std::move(on_end),
                                call->cancel);
}

void ServeApp::account(const Call& call, int status, const Response* r, const std::string* error) {
  const double seconds = std::chrono::duration<double>(Clock::now() - call.start).count();
  MetricSample s;
  s.team = call.team;
  s.status = status;
  if (r) {
    s.route = r->route;
    s.model = r->model;
    s.cache_hit = r->cache_hit;
    s.input_tokens = r->usage.input_tokens;
    s.cached_input_tokens = r->usage.cached_input_tokens;
    s.output_tokens = r->usage.output_tokens;
    s.cost = r->cost;
    s.saved = r->saved;
  }
  s.seconds = seconds;
  metrics_.record(s);
  if (!log_.enabled()) return;
  nlohmann::json line = {{"event", "request"},
                         {"method", "POST"},
                         {"path", "/v1/chat/completions"},
                         {"status", status},
                         {"team", call.team},
                         {"stream", call.stream},
                         {"latency_ms", static_cast<double>(static_cast<int64_t>(seconds * 1e5)) / 100.0}};
  if (!call.user.empty()) line["user"] = call.user;
  if (!call.tags.empty()) line["tags"] = call.tags;
  if (r) {
    line["request_id"] = r->request_id;
    line["route"] = r->route;
    line["provider"] = r->provider;
    line["model"] = r->model;
    line["cache"] = r->cache_hit ? "hit" : "miss";
    line["input_tokens"] = r->usage.input_tokens;
    line["cached_input_tokens"] = r->usage.cached_input_tokens;
    line["output_tokens"] = r->usage.output_tokens;
    line["cost_usd"] = r->cost.usd();
    line["saved_usd"] = r->saved.usd();
    line["attempts"] = r->attempts;
    line["downgraded"] = r->downgraded;
    if (r->ttft_ms >= 0) line["ttft_ms"] = r->ttft_ms;
  } else if (!call.request_id.empty()) {
    line["request_id"] = call.request_id;
  }
  if (error) line["error"] = error->substr(0, 4000);  // a routing trace can be long
  if (options_.log_prompts && !call.messages.is_null()) line["messages"] = call.messages;
  log_.write(std::move(line));
}

void ServeApp::models(const std::shared_ptr<Responder>& out) const {
  std::vector<RoutableModel> list;
  if (impl_) {
    const auto policy = impl_->policy();
    std::set<std::string, std::less<>> seen;
    for (const auto& route : policy->routes) {
      for (const auto* m : route.try_models) {
        if (m && seen.insert(m->id).second) list.push_back({m->id, m->provider});
      }
    }
  }
  out->respond(json_response(200, models_body(list)));
}

void ServeApp::spend(const HttpRequest& http, const KeyInfo& key, const std::shared_ptr<Responder>& out) const {
  std::string team = query_param(http.query(), "team");
  const std::string window = query_param(http.query(), "window");
  if (team.empty()) team = key.team;
  auto done = [&](const HttpResponse& r) {
    log_.write({{"event", "request"}, {"method", "GET"}, {"path", "/v1/spend"}, {"status", r.status}, {"team", key.team}});
    out->respond(r);
  };
  if (team != key.team && !key.admin)
    return done(error_response(forbidden("This key belongs to team '" + key.team + "' and cannot read another team's spend.")));
  std::vector<SpendView> views;
  if (!window.empty()) {
    auto v = engine_.spend(team, window);
    if (!v.ok()) return done(error_response(api_error_from(v.error())));
    views.push_back(std::move(*v));
  } else {
    for (auto& v : engine_.spend_all())
      if (v.team == team) views.push_back(std::move(v));
  }
  done(json_response(200, spend_body(team, views)));
}

void ServeApp::quality(const HttpRequest& http, const KeyInfo& key, const std::shared_ptr<Responder>& out) {
  auto done = [this, team = key.team, out](const HttpResponse& r) {
    log_.write({{"event", "request"}, {"method", "POST"}, {"path", "/v1/quality"}, {"status", r.status}, {"team", team}});
    out->respond(r);
  };
  auto q = quality_request(http);
  if (!q.ok()) return done(error_response(api_error_from(q.error())));
  // The score is checked against the key's team and committed without
  // blocking this I/O thread.
  engine::Ledger* ledger = impl_ ? impl_->core().ledger.get() : nullptr;
  if (!ledger)
    return done(error_response(api_error_from(
        Error(ErrorCategory::config, "This gateway runs without a ledger (--ledger), so it cannot keep scores."))));
  // An admin key may score any team's request; any other, its team's only.
  ledger->record_quality_async(
      q->request_id, q->score, q->source, key.admin ? std::string_view() : std::string_view(key.team),
      [done, q = *q](const Result<void>& recorded) {
        if (!recorded.ok()) return done(error_response(api_error_from(recorded.error())));
        done(json_response(200, {{"object", "quality"},
                                 {"request_id", q.request_id},
                                 {"score", q.score},
                                 {"source", q.source}}));
      });
}

std::string ServeApp::metrics_text() const {
  std::string out = metrics_.render();
  const auto views = engine_.spend_all();
  auto gauge = [&](const char* name, const char* help, auto value_of) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n";
    for (const auto& v : views) {
      const std::optional<Money> m = value_of(v);
      if (!m) continue;
      out += std::string(name) + "{team=\"" + prom_escape(v.team) + "\",window=\"" + prom_escape(v.window) + "\"} " +
             decimal_nanos(m->nanos) + "\n";
    }
  };
  gauge("tollgate_spend_usd", "Settled spend in the current window, USD.",
        [](const SpendView& v) { return std::optional<Money>(v.spent); });
  gauge("tollgate_spend_reserved_usd", "Worst cases held by requests in flight, USD.",
        [](const SpendView& v) { return std::optional<Money>(v.reserved); });
  gauge("tollgate_spend_cap_usd", "The window's cap, USD (absent: uncapped).",
        [](const SpendView& v) { return v.cap; });
  if (extra_metrics_) out += extra_metrics_();
  return out;
}

}  // namespace tollgate::tools
