// `tollgate serve`'s chat endpoint end to end, in one process: ServeApp on
// the gateway server, in front of a real engine (policy, ledger) whose
// providers are the mock on loopback. What a client reads in an answer's
// head, in its stream and in its errors.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "server/gateway_server.hpp"
#include "server/serve_app.hpp"
#include "server/serve_errors.hpp"
#include "server/serve_metrics.hpp"
#include "tests/request_support.hpp"
#include "tests/serve_support.hpp"

using namespace tollgate;
using namespace tollgate::tools;
using namespace std::chrono_literals;
using nlohmann::json;
using tollgate::testing::MockedEngine;
using tollgate::testing::RawClient;
using tollgate::testing::RawResponse;

namespace {

constexpr const char* kPolicy = R"(
team "support" { daily_usd = 100, on_exceed = "deny" }
team "tiny"    { daily_usd = 0.000001, on_exceed = "deny" }

route "fallback" {
  when = { task = "fallback" },
  try  = { "gpt-4o-mini", "deepseek-chat" },
}

route "cached" {
  when  = { task = "faq" },
  try   = { "gpt-4o-mini" },
  cache = { ttl = "1h" },
}

route "default" {
  try = { "gpt-4o-mini" },
}
)";

constexpr const char* kSupport = "Authorization: Bearer tg-support-key\r\n";
constexpr const char* kTiny = "Authorization: Bearer tg-tiny-team-key\r\n";

struct Gateway {
  MockedEngine m{kPolicy};
  std::unique_ptr<RequestLog> log;
  std::unique_ptr<ServeApp> app;
  std::unique_ptr<adapters::GatewayServer> server;

  Gateway() {
    auto l = RequestLog::open("off");
    REQUIRE(l.ok());
    log = std::move(*l);
    auto keys = KeyTable::from_json(json::parse(R"({"keys": [{"key": "tg-support-key", "team": "support"},
                                                             {"key": "tg-tiny-team-key", "team": "tiny"}]})"),
                                    "keys.json");
    REQUIRE(keys.ok());
    app = std::make_unique<ServeApp>(*m.engine, std::move(*keys), *log);
    adapters::GatewayServerOptions o;
    o.error_response = transport_error_response;
    auto s = adapters::GatewayServer::start(o, [this](adapters::HttpRequest req, std::shared_ptr<adapters::Responder> out) {
      app->handle(std::move(req), std::move(out));
    });
    REQUIRE(s.ok());
    server = std::move(*s);
  }
  ~Gateway() {
    // The engine's late callbacks use the app: it goes after the engine.
    server->stop(10s);
    m.engine.reset();
    app.reset();
  }

  RawResponse chat(json body, const std::string& headers = kSupport) {
    if (!body.contains("messages")) body["messages"] = json::array({{{"role", "user"}, {"content", "Say hello"}}});
    if (!body.contains("max_tokens")) body["max_tokens"] = 40;
    RawClient c(server->port());
    REQUIRE(c.connected());
    return c.request("POST", "/v1/chat/completions", body.dump(), headers + "Content-Type: application/json\r\n");
  }

  int64_t ledger_cost(const std::string& request_id) {
    REQUIRE(m.engine->flush().ok());
    return m.ledger_int("SELECT sum(cost_nanos) FROM attempts WHERE request_id = '" + request_id + "'");
  }
};

std::string header(const RawResponse& r, const std::string& name) { return RawClient::header(r.head, name); }

// The SSE events of a stream: data lines as JSON ("[DONE]" as a string),
// comment lines as they are.
struct Events {
  std::vector<json> data;
  std::vector<std::string> comments;
};
Events events_of(const std::string& body) {
  Events e;
  std::size_t at = 0;
  while (at < body.size()) {
    const std::size_t end = body.find("\n\n", at);
    const std::string event = body.substr(at, end - at);
    at = end == std::string::npos ? body.size() : end + 2;
    if (event.rfind("data: ", 0) == 0) {
      const std::string data = event.substr(6);
      e.data.push_back(data == "[DONE]" ? json(data) : json::parse(data));
    } else if (event.rfind(":", 0) == 0) {
      e.comments.push_back(event);
    }
  }
  return e;
}

const json* usage_of(const Events& e) {
  for (const auto& d : e.data)
    if (d.is_object() && d.contains("usage") && !d["usage"].is_null()) return &d["usage"];
  return nullptr;
}

}  // namespace

TEST_CASE("serve stream: its head names the request, route, model and cache, and its end the exact cost") {
  Gateway g;
  const RawResponse r = g.chat({{"stream", true}});
  REQUIRE(r.status == 200);
  CHECK(header(r, "Transfer-Encoding") == "chunked");
  const std::string id = header(r, "x-request-id");
  CHECK(id.rfind("tg-", 0) == 0);
  CHECK(header(r, "x-tollgate-route") == "default");
  CHECK(header(r, "x-tollgate-model") == "gpt-4o-mini");
  CHECK(header(r, "x-tollgate-cache") == "miss");

  // The cost, known only at the end: a comment before [DONE], to the nano-dollar.
  const Events e = events_of(r.body);
  REQUIRE(e.data.size() >= 2);
  CHECK(e.data.back() == "[DONE]");
  REQUIRE(e.comments.size() == 1);
  CHECK(e.comments[0] == ": x-tollgate-cost-usd: " + decimal_nanos(g.ledger_cost(id)));
  CHECK(r.body.find(e.comments[0] + "\n\ndata: [DONE]\n\n") != std::string::npos);

  // The id in the head is the ledger's: a streaming client that sent none
  // can score its answer.
  RawClient c(g.server->port());
  const RawResponse q = c.request("POST", "/v1/quality", json{{"request_id", id}, {"score", 0.75}}.dump(), kSupport);
  CHECK(q.status == 200);
  CHECK(json::parse(q.body)["request_id"] == id);

  // A client's own id is the one the head names.
  const RawResponse own = g.chat({{"stream", true}}, std::string(kSupport) + "x-request-id: my-stream-1\r\n");
  CHECK(header(own, "x-request-id") == "my-stream-1");
}

TEST_CASE("serve stream: the head names the model that answers after a fallback before the first byte") {
  Gateway g;
  g.m.mock->script("gpt-4o-mini", adapters::MockBehavior{.fault = adapters::MockFault::server_error});
  const RawResponse r = g.chat({{"stream", true}}, std::string(kSupport) + "x-tollgate-tags: task=fallback\r\n");
  REQUIRE(r.status == 200);
  CHECK(g.m.mock->calls("gpt-4o-mini") >= 1);
  CHECK(header(r, "x-tollgate-route") == "fallback");
  CHECK(header(r, "x-tollgate-model") == "deepseek-chat");
  CHECK(events_of(r.body).data.back() == "[DONE]");
}

TEST_CASE("serve stream: a cache hit says so in its head") {
  Gateway g;
  const std::string faq = std::string(kSupport) + "x-tollgate-tags: task=faq\r\n";
  const RawResponse first = g.chat({{"stream", true}}, faq);
  REQUIRE(first.status == 200);
  CHECK(header(first, "x-tollgate-cache") == "miss");
  const RawResponse second = g.chat({{"stream", true}}, faq);
  REQUIRE(second.status == 200);
  CHECK(header(second, "x-tollgate-cache") == "hit");
  CHECK(header(second, "x-tollgate-route") == "cached");
  CHECK(header(second, "x-tollgate-model") == "gpt-4o-mini");
  CHECK(header(second, "x-request-id") != header(first, "x-request-id"));
  CHECK(events_of(second.body).comments == std::vector<std::string>{": x-tollgate-cost-usd: 0.000000000"});
  CHECK(g.m.mock->calls("gpt-4o-mini") == 1);
}

TEST_CASE("serve: x-tollgate-cost-usd is the exact cost, to the nano-dollar") {
  Gateway g;
  // Prompts of a few lengths: their costs are not all whole micro-dollars.
  bool sub_micro = false;
  for (const char* prompt : {"Say hello", "Say hello, twice over, please", "x"}) {
    const RawResponse r = g.chat({{"messages", json::array({{{"role", "user"}, {"content", prompt}}})}});
    REQUIRE(r.status == 200);
    const int64_t nanos = g.ledger_cost(header(r, "x-request-id"));
    REQUIRE(nanos > 0);
    sub_micro = sub_micro || nanos % 1000 != 0;
    CHECK(header(r, "x-tollgate-cost-usd") == decimal_nanos(nanos));
  }
  CHECK(sub_micro);  // the rounding the header used to do would have shown
}

TEST_CASE("serve stream: usage the provider did not report is marked as tollgate's estimate") {
  Gateway g;
  const json body = {{"stream", true}, {"stream_options", {{"include_usage", true}}}};
  SECTION("the provider reports usage: passed on unmarked") {
    const Events e = events_of(g.chat(body).body);
    const json* u = usage_of(e);
    REQUIRE(u);
    CHECK((*u)["completion_tokens"].get<int64_t>() > 0);
    CHECK_FALSE(u->contains("tollgate_estimated"));
  }
  SECTION("it does not: the estimate it was charged, marked") {
    g.m.mock->script("gpt-4o-mini", adapters::MockBehavior{.omit_usage = true});
    const RawResponse r = g.chat(body);
    REQUIRE(r.status == 200);
    const Events e = events_of(r.body);
    const json* u = usage_of(e);
    REQUIRE(u);
    CHECK((*u)["tollgate_estimated"] == true);
    CHECK((*u)["prompt_tokens"].get<int64_t>() > 0);
    CHECK((*u)["completion_tokens"].get<int64_t>() > 0);
    // The ledger row says the same.
    REQUIRE(g.m.engine->flush().ok());
    CHECK(g.m.ledger_int("SELECT count(*) FROM attempts WHERE request_id = '" + header(r, "x-request-id") +
                         "' AND error_message LIKE '%estimate%' AND output_tokens = " +
                         std::to_string((*u)["completion_tokens"].get<int64_t>())) == 1);
  }
}

TEST_CASE("serve: every candidate's circuit open is a 503 with Retry-After, but a team at its cap still gets its 429") {
  Gateway g;
  // Five failures in a row open the model's circuit for 30 s.
  for (int i = 0; i < 5; ++i) g.m.engine->core().breakers->record("openai", "gpt-4o-mini", CallOutcome::failure);
  REQUIRE(g.m.engine->core().breakers->state("openai", "gpt-4o-mini") == CircuitState::open);

  for (const bool stream : {false, true}) {
    INFO("stream " << stream);
    const RawResponse r = g.chat({{"stream", stream}});
    CHECK(r.status == 503);
    const std::string wait = header(r, "retry-after");
    REQUIRE_FALSE(wait.empty());
    CHECK(std::stoi(wait) >= 1);
    CHECK(std::stoi(wait) <= 30);
    CHECK(header(r, "x-should-retry").empty());  // a wait, not the client's fault
    const json err = json::parse(r.body)["error"];
    CHECK(err["code"] == "providers_cooling_down");
    CHECK(err["type"] == "api_error");
    CHECK_THAT(err["message"].get<std::string>(), Catch::Contains("cooling down"));
    CHECK_THAT(err["message"].get<std::string>(), Catch::Contains("retry in " + wait + " s"));
  }
  CHECK(g.m.mock->calls("gpt-4o-mini") == 0);

  const RawResponse capped = g.chat({}, kTiny);
  CHECK(capped.status == 429);
  CHECK(json::parse(capped.body)["error"]["code"] == "budget_exceeded");
  CHECK(header(capped, "x-should-retry") == "false");
  CHECK(header(capped, "retry-after").empty());

  // A route with a healthy candidate left still answers.
  const RawResponse other = g.chat({}, std::string(kSupport) + "x-tollgate-tags: task=fallback\r\n");
  CHECK(other.status == 200);
  CHECK(header(other, "x-tollgate-model") == "deepseek-chat");
}

TEST_CASE("serve: an upstream answering 100,000 levels deep is a clean error and the gateway goes on", "[serve]") {
  Gateway g;
  g.m.mock->script("gpt-4o-mini", tollgate::testing::fault(adapters::MockFault::deep));
  for (const bool stream : {false, true}) {
    INFO("stream " << stream);
    json body;
    body["stream"] = stream;
    const RawResponse r = g.chat(body);
    REQUIRE_FALSE(r.closed);
    if (!stream) {
      // Every try was a malformed answer: the provider's fault, told as such.
      CHECK(r.status == 502);
      CHECK_THAT(r.body, Catch::Contains("nests deeper than 128 levels") || Catch::Contains("upstream"));
    } else {
      // The deep event follows the first delta: the stream ends with an error event.
      CHECK(r.status == 200);
      CHECK_THAT(r.body, Catch::Contains("\"error\""));
    }
  }
  // The same connection pool, engine and I/O threads answer the next request.
  g.m.mock->script("gpt-4o-mini", adapters::MockBehavior{});
  const RawResponse ok = g.chat(json::object());
  CHECK(ok.status == 200);
  CHECK(json::parse(ok.body)["choices"][0]["message"]["content"].is_string());
}
