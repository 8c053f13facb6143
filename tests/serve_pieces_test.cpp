// `tollgate serve`'s pieces: keys, tags, OpenAI error bodies, the request
// built from a chat body, metrics text.
#include <catch2/catch.hpp>

#include <limits>

#include <nlohmann/json.hpp>

#include "engine/json_depth.hpp"
#include "engine/stream_options.hpp"
#include "server/serve_errors.hpp"
#include "server/serve_keys.hpp"
#include "server/serve_metrics.hpp"
#include "server/serve_openai.hpp"
#include "server/serve_tags.hpp"

using namespace tollgate;
using namespace tollgate::tools;
using nlohmann::json;

namespace {

KeyTable keys() {
  auto k = KeyTable::from_json(json::parse(R"({"keys": [
      {"key": "tg-support-key", "team": "support", "user": "bot"},
      {"key": "tg-research-key", "team": "research"},
      {"key": "tg-admin-key-1", "team": "ops", "admin": true}]})"),
                               "keys.json");
  REQUIRE(k.ok());
  return std::move(*k);
}

adapters::HttpRequest chat_http(std::string body, adapters::HttpHeaders headers = {}) {
  adapters::HttpRequest r;
  r.method = "POST";
  r.target = "/v1/chat/completions";
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

}  // namespace

TEST_CASE("serve keys: bearer keys map to teams, bad files are refused without echoing keys") {
  const KeyTable k = keys();
  const KeyInfo* s = k.find_bearer("Bearer tg-support-key");
  REQUIRE(s);
  CHECK(s->team == "support");
  CHECK(s->user == "bot");
  CHECK_FALSE(s->admin);
  CHECK(k.find_bearer("Bearer tg-admin-key-1")->admin);
  CHECK(k.find_bearer("Bearer nope-nope-nope") == nullptr);
  CHECK(k.find_bearer("tg-support-key") == nullptr);
  CHECK(k.find_bearer("") == nullptr);

  auto dup = KeyTable::from_json(json::parse(R"({"keys": [{"key": "secret-123", "team": "a"},
                                                           {"key": "secret-123", "team": "b"}]})"), "k.json");
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().message() == "k.json: keys[1]: the same key is listed twice");
  CHECK(dup.error().message().find("secret-123") == std::string::npos);
  CHECK_FALSE(KeyTable::from_json(json::parse(R"({"keys": [{"key": "short", "team": "a"}]})"), "k").ok());
  CHECK_FALSE(KeyTable::from_json(json::parse(R"({"keys": [{"key": "long-enough", "team": ""}]})"), "k").ok());
  CHECK_FALSE(KeyTable::from_json(json::parse(R"({"keys": []})"), "k").ok());
}

TEST_CASE("serve tags: header and metadata, bounded") {
  Tags t;
  REQUIRE(parse_tags_header(" task=classify, tier = free ,", t).ok());
  CHECK(t == Tags{{"task", "classify"}, {"tier", "free"}});
  REQUIRE(tags_from_metadata(json::parse(R"({"region": "eu", "n": 3, "flag": true})"), t).ok());
  CHECK(t.at("region") == "eu");
  CHECK(t.at("n") == "3");
  CHECK(t.at("flag") == "true");

  Tags bad;
  CHECK(parse_tags_header("task", bad).error().message() == "x-tollgate-tags: 'task' is not key=value");
  CHECK_FALSE(parse_tags_header("bad key=1", bad).ok());
  CHECK_FALSE(parse_tags_header("k=" + std::string(kMaxTagValue + 1, 'v'), bad).ok());
  CHECK_FALSE(tags_from_metadata(json::parse(R"({"nested": {"a": 1}})"), bad).ok());
  std::string many;
  for (std::size_t i = 0; i <= kMaxTags; ++i) many += "k" + std::to_string(i) + "=v,";
  CHECK_FALSE(parse_tags_header(many, bad).ok());
}

TEST_CASE("serve errors: engine categories become OpenAI errors with fitting statuses") {
  const auto budget = api_error_from(Error(ErrorCategory::budget, "team 'tiny' denied: ... day cap of $1.000000"));
  CHECK(budget.status == 429);
  CHECK(budget.code == "budget_exceeded");
  const auto resp = error_response(budget);
  CHECK(resp.status == 429);
  CHECK(resp.headers == adapters::HttpHeaders{{"x-should-retry", "false"}});
  const auto body = json::parse(resp.body);
  CHECK(body["error"]["message"] == "team 'tiny' denied: ... day cap of $1.000000");
  CHECK(body["error"]["type"] == "insufficient_quota");
  CHECK(body["error"]["param"].is_null());

  CHECK(api_error_from(Error(ErrorCategory::bad_request, "x")).status == 400);
  CHECK(api_error_from(Error(ErrorCategory::provider, "x")).status == 502);
  CHECK(api_error_from(Error(ErrorCategory::timeout, "x")).status == 504);
  CHECK(api_error_from(Error(ErrorCategory::policy, "x")).status == 422);
  // A policy's own words (here a Lua error quoting a prompt) stay in the
  // gateway's log; the client gets tollgate's summary.
  const auto quoted = api_error_from(Error(ErrorCategory::policy, "p.lua:4: route 'r' when", ": p.lua:4: saw: a secret"));
  CHECK(quoted.status == 422);
  CHECK(quoted.message == "p.lua:4: route 'r' when (the policy's own words are in the gateway's log)");
  CHECK(invalid_api_key().status == 401);
  CHECK(json::parse(error_body(invalid_api_key()))["error"]["code"] == "invalid_api_key");

  // Open circuits on every candidate: a transient outage, with the wait the
  // breakers give, in whole seconds rounded up (never 0: "retry at once").
  Error cooling(ErrorCategory::unavailable, "the providers are cooling down after repeated failures");
  const auto wait = error_response(api_error_from(cooling.set_retry_after_ms(12'001)));
  CHECK(wait.status == 503);
  CHECK(wait.headers == adapters::HttpHeaders{{"retry-after", "13"}});
  CHECK(json::parse(wait.body)["error"]["code"] == "providers_cooling_down");
  CHECK(json::parse(wait.body)["error"]["message"] == "the providers are cooling down after repeated failures");
  CHECK(error_response(api_error_from(cooling.set_retry_after_ms(0))).headers ==
        adapters::HttpHeaders{{"retry-after", "1"}});
}

TEST_CASE("serve decimal_nanos: billionths as an exact nine-place decimal") {
  CHECK(decimal_nanos(45'500) == "0.000045500");
  CHECK(decimal_nanos(499) == "0.000000499");
  CHECK(decimal_nanos(0) == "0.000000000");
  CHECK(decimal_nanos(1'000'000'000) == "1.000000000");
  CHECK(decimal_nanos(-1) == "-0.000000001");
  CHECK(decimal_nanos(-2'500'000'000) == "-2.500000000");
  CHECK(decimal_nanos(std::numeric_limits<int64_t>::max()) == "9223372036.854775807");
  CHECK(decimal_nanos(std::numeric_limits<int64_t>::min()) == "-9223372036.854775808");
}

TEST_CASE("serve chat_request: nesting is bounded before the body is parsed, strings do not count") {
  const KeyTable k = keys();
  const KeyInfo& key = *k.find_bearer("Bearer tg-support-key");
  auto body_with = [](int levels, const std::string& text) {
    return R"({"messages": [{"role": "user", "content": ")" + text + R"("}], "extra": )" +
           std::string(static_cast<std::size_t>(levels), '[') + "1" + std::string(static_cast<std::size_t>(levels), ']') + "}";
  };
  // The body object is one level: 127 more reach the bound of 128 exactly.
  CHECK(chat_request(chat_http(body_with(127, "hi")), key).ok());
  auto deep = chat_request(chat_http(body_with(128, "hi")), key);
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.error().category() == ErrorCategory::bad_request);
  CHECK(deep.error().message() == "The JSON body of your request is nested more than 128 levels deep.");
  // A million '[' is refused in one pass, without building anything.
  CHECK(chat_request(chat_http(std::string(1'000'000, '[')), key).error().message() ==
        "The JSON body of your request is nested more than 128 levels deep.");
  // Brackets and escaped quotes inside strings are text, not nesting.
  const std::string bracket_text = std::string(300, '[') + R"(\"[[[\\)";
  auto in_string = chat_request(chat_http(body_with(100, bracket_text)), key);
  REQUIRE(in_string.ok());
  CHECK(in_string->body["messages"][0]["content"].get<std::string>().size() == 300 + 5);  // 300 x [, a quote, [[[ and a backslash
  // Depth of the text agrees with depth of the parsed value at the bound.
  for (int levels : {0, 1, 5, 127, 128, 129}) {
    const std::string text = std::string(static_cast<std::size_t>(levels), '[') + std::string(static_cast<std::size_t>(levels), ']');
    CHECK(engine::text_nested_deeper_than(text, 128) == engine::nested_deeper_than(nlohmann::json::parse(text.empty() ? "0" : text), 128));
  }
}

TEST_CASE("serve chat_request: x-tollgate-timeout-ms sets the whole-request deadline, bad values are 400") {
  const KeyTable k = keys();
  const KeyInfo& key = *k.find_bearer("Bearer tg-support-key");
  const std::string body = R"({"messages": [{"role": "user", "content": "hi"}]})";
  auto none = chat_request(chat_http(body), key);
  REQUIRE(none.ok());
  CHECK_FALSE(none->timeout_ms);
  auto set = chat_request(chat_http(body, {{"x-tollgate-timeout-ms", "2500"}}), key);
  REQUIRE(set.ok());
  CHECK(set->timeout_ms == 2500);
  for (const char* bad : {"0", "-5", "1.5", "10s", "3600001", "99999999999999999999"}) {
    auto r = chat_request(chat_http(body, {{"x-tollgate-timeout-ms", bad}}), key);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().category() == ErrorCategory::bad_request);
    CHECK_THAT(r.error().message(), Catch::Matchers::StartsWith("x-tollgate-timeout-ms: "));
  }
  CHECK(api_error_from(Error(ErrorCategory::timeout, "x")).status == 504);
}

TEST_CASE("serve chat_request: the key picks the team, tags, id and cache controls from headers") {
  const KeyTable k = keys();
  auto r = chat_request(chat_http(R"({"model": "gpt-4o", "team": "research", "user": "mallory",
                                      "messages": [{"role": "user", "content": "hi"}],
                                      "metadata": {"task": "code", "tier": "body"}})",
                                  {{"x-tollgate-tags", "tier=header"}, {"x-request-id", "req-42"},
                                   {"x-tollgate-cache", "no-cache, ttl=60"}}),
                        *k.find_bearer("Bearer tg-support-key"));
  REQUIRE(r.ok());
  CHECK(r->team == "support");
  CHECK(r->user == "bot");
  CHECK(r->tags == Tags{{"task", "code"}, {"tier", "header"}});
  CHECK_FALSE(r->body.contains("metadata"));
  CHECK(r->id == "req-42");
  CHECK(r->cache.no_cache);
  CHECK_FALSE(r->cache.no_store);
  CHECK(r->cache.ttl_ms == 60'000);
  CHECK_FALSE(r->stream);

  auto with_user = chat_request(chat_http(R"({"messages": [{"role": "user", "content": "hi"}], "user": "u7", "stream": true,
                                              "stream_options": {"include_usage": true}})"),
                                *k.find_bearer("Bearer tg-research-key"));
  REQUIRE(with_user.ok());
  CHECK(with_user->user == "u7");
  CHECK(with_user->stream);
  CHECK(engine::wants_stream_usage(*with_user));

  const KeyInfo& key = *k.find_bearer("Bearer tg-support-key");
  CHECK(chat_request(chat_http("{\"messages\": ["), key).error().category() == ErrorCategory::bad_request);
  CHECK_FALSE(chat_request(chat_http("[]"), key).ok());
  CHECK_FALSE(chat_request(chat_http(R"({"messages": []})"), key).ok());
  CHECK_FALSE(chat_request(chat_http(R"({"messages": [{}]})", {{"x-request-id", "has space"}}), key).ok());
  CHECK_FALSE(chat_request(chat_http(R"({"messages": [{}]})", {{"x-tollgate-cache", "sometimes"}}), key).ok());

  // stream_options of the wrong type is refused up front (the fuzzer found a
  // number in include_usage reaching a reader that wanted a boolean).
  auto odd_usage = chat_request(chat_http(R"({"messages": [{}], "stream": true, "stream_options": {"include_usage": 3}})"), key);
  REQUIRE_FALSE(odd_usage.ok());
  CHECK(odd_usage.error().message().find("include_usage") != std::string::npos);
  CHECK_FALSE(chat_request(chat_http(R"({"messages": [{}], "stream_options": "yes"})"), key).ok());
  auto null_options = chat_request(chat_http(R"({"messages": [{}], "stream_options": null})"), key);
  REQUIRE(null_options.ok());
  CHECK_FALSE(engine::wants_stream_usage(*null_options));
}

TEST_CASE("serve quality_request: request_id and score required, source optional and bounded") {
  auto q = [](std::string body) {
    adapters::HttpRequest http;
    http.method = "POST";
    http.target = "/v1/quality";
    http.body = std::move(body);
    return quality_request(http);
  };
  auto ok = q(R"({"request_id": "tg-0193a1b2c3d4-0011223344556677", "score": 0.8, "source": "thumbs"})");
  REQUIRE(ok.ok());
  CHECK(ok->request_id == "tg-0193a1b2c3d4-0011223344556677");
  CHECK(ok->score == Approx(0.8));
  CHECK(ok->source == "thumbs");
  CHECK(q(R"({"request_id": "r1", "score": 1})")->source == "api");
  for (const char* bad : {R"(not json)", R"([1])", R"({"score": 0.5})", R"({"request_id": "r1"})",
                          R"({"request_id": "r1", "score": 1.5})", R"({"request_id": "r1", "score": "high"})",
                          R"({"request_id": "has space", "score": 0.5})", R"({"request_id": "r1", "score": 0.5, "source": ""})",
                          R"({"request_id": "r1", "score": 0.5, "source": 7})"}) {
    auto r = q(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().category() == ErrorCategory::bad_request);
  }
  CHECK_THAT(q(R"({"request_id": "r1", "score": -1})").error().message(), Catch::Matchers::Contains("'score'"));
}

TEST_CASE("serve wire shapes: SSE framing, usage chunk, query parameters, spend") {
  CHECK(sse_data(json{{"a", 1}}) == "data: {\"a\":1}\n\n");
  Response resp;
  resp.model = "gpt-4o-mini";
  resp.usage = {10, 4, 3};
  const json u = usage_chunk(resp, "chatcmpl-1");
  CHECK(u["choices"].empty());
  CHECK(u["usage"]["total_tokens"] == 13);
  CHECK(u["usage"]["prompt_tokens_details"]["cached_tokens"] == 4);
  CHECK(query_param("team=support&window=day", "window") == "day");
  CHECK(query_param("team=a%20b+c", "team") == "a b c");
  CHECK(query_param("team=x", "window").empty());

  SpendView v;
  v.team = "support";
  v.window = "day";
  v.spent = Money::from_nanos(1'500'000'000);
  v.reserved = Money::from_nanos(500'000'000);
  v.cap = Money::from_nanos(10'000'000'000);
  const json s = spend_body("support", {v});
  CHECK(s["windows"][0]["remaining_usd"] == 8.0);
  CHECK(s["windows"][0]["cap_nanos"] == 10'000'000'000);
}

TEST_CASE("serve metrics: counters, cumulative histograms, escaped labels") {
  Metrics m;
  MetricSample a;
  a.team = "sup\"port";
  a.route = "code";
  a.model = "deepseek-chat";
  a.input_tokens = 100;
  a.output_tokens = 20;
  a.cost = Money::from_nanos(1'234);
  a.seconds = 0.003;
  m.record(a);
  a.status = 502;
  a.seconds = 0.2;
  a.cache_hit = true;
  m.record(a);
  MetricSample refused;
  refused.status = 401;
  m.record(refused);
  const std::string text = m.render();
  const std::string l = R"(team="sup\"port",route="code",model="deepseek-chat")";
  CHECK_THAT(text, Catch::Contains("tollgate_requests_total{" + l + ",status=\"200\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("tollgate_requests_total{" + l + ",status=\"502\"} 1\n"));
  CHECK_THAT(text, Catch::Contains(R"(tollgate_requests_total{team="none",route="none",model="none",status="401"} 1)"));
  CHECK_THAT(text, Catch::Contains("tollgate_tokens_total{" + l + ",kind=\"input\"} 200\n"));
  CHECK_THAT(text, Catch::Contains("tollgate_cost_usd_total{" + l + "} 0.000002468\n"));
  CHECK_THAT(text, Catch::Contains("tollgate_cache_hits_total{" + l + "} 1\n"));
  const std::string h = R"(route="code",model="deepseek-chat")";
  CHECK_THAT(text, Catch::Contains("tollgate_request_duration_seconds_bucket{" + h + ",le=\"0.0025\"} 0\n"));
  CHECK_THAT(text, Catch::Contains("tollgate_request_duration_seconds_bucket{" + h + ",le=\"0.005\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("tollgate_request_duration_seconds_bucket{" + h + ",le=\"0.25\"} 2\n"));
  CHECK_THAT(text, Catch::Contains("tollgate_request_duration_seconds_count{" + h + "} 2\n"));
  CHECK_THAT(text, Catch::Contains("tollgate_request_duration_seconds_sum{" + h + "} 0.203000000\n"));
}

TEST_CASE("serve metrics: sums print exactly, however large") {
  Metrics m;
  MetricSample s;
  s.route = "r";
  s.model = "m";
  s.cost = Money::from_nanos(50'000'000'123'456'788);  // $50M: a double holds 16 or 17 digits, this has 17
  s.seconds = 1'000'000.5;
  m.record(s);
  s.cost = Money::from_nanos(1);
  s.seconds = 2.25;
  m.record(s);
  const std::string text = m.render();
  // %.6g printed 1e+06 here: past 10^6 s a sum moved in steps of about 10 s.
  CHECK_THAT(text, Catch::Contains(R"(tollgate_request_duration_seconds_sum{route="r",model="m"} 1000002.750000000)" "\n"));
  CHECK_THAT(text, Catch::Contains(R"(tollgate_cost_usd_total{team="none",route="r",model="m"} 50000000.123456789)" "\n"));
}
