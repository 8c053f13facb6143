// The mock provider's scripting: per model, per request header, counted
// calls, and realistic usage figures.
#include <algorithm>

#include "tests/adapters_support.hpp"

using namespace tollgate;
using namespace tollgate::test;
using adapters::MockBehavior;
using adapters::MockFault;

TEST_CASE("mock: scripts parse, and bad ones say what is wrong") {
  MockBehavior b;
  REQUIRE(adapters::apply_mock_script("fault=rate_limit; latency_ms=25;tps=12.5;fail_times=2;reply=hi there", b).ok());
  CHECK(b.fault == MockFault::rate_limit);
  CHECK(b.latency == 25ms);
  CHECK(b.tokens_per_second == 12.5);
  CHECK(b.fail_times == 2);
  CHECK(b.reply == "hi there");
  CHECK(adapters::apply_mock_script("fault=explode", b).error() == "mock script: unknown fault 'explode'");
  CHECK(adapters::apply_mock_script("latency_ms=soon", b).error().find("wants a number") != std::string::npos);
  CHECK(adapters::apply_mock_json(json{{"context_window", 100}, {"tool", "f"}}, b).ok());
  CHECK(b.context_window == 100);
  CHECK(b.tool_name == "f");
}

TEST_CASE("mock: --help documents every script key the mock accepts, and every fault kind") {
  const std::string help = adapters::mock_script_help();
  // Each "  key=" line of the help, parsed back out: every one must be a key
  // the parser takes, with the sample value its own line shows the type of.
  const std::vector<std::pair<std::string, std::string>> samples = {
      {"reply", "hi"}, {"latency_ms", "1"}, {"tps", "2.5"}, {"tool", "f"}, {"tool_args", "{}"},
      {"cached_tokens", "3"}, {"no_usage", "1"}, {"context_window", "9"}, {"fault", "hang"},
      {"fail_times", "1"}, {"retry_after_s", "2"}, {"truncate_after", "1"}, {"fault_rate", "0.1"},
      {"faults", "reset,hang"}, {"fault_seed", "7"}};
  std::size_t documented = 0;
  for (std::size_t at = help.find("\n  "); at != std::string::npos; at = help.find("\n  ", at + 1)) {
    const auto eq = help.find('=', at);
    const std::string key = help.substr(at + 3, eq - at - 3);
    INFO("documented key " << key);
    const auto sample = std::find_if(samples.begin(), samples.end(), [&](const auto& s) { return s.first == key; });
    REQUIRE(sample != samples.end());
    MockBehavior b;
    CHECK(adapters::apply_mock_script(key + "=" + sample->second, b).ok());
    ++documented;
  }
  CHECK(documented == samples.size());  // and every accepted key is documented
  for (const auto& [key, value] : samples) CHECK_THAT(help, Catch::Contains("  " + key + "="));
  for (std::size_t i = 1; i < adapters::kMockFaultKinds; ++i) {
    CHECK_THAT(help, Catch::Contains(std::string(" ") + std::string(adapters::to_string(static_cast<MockFault>(i)))));
  }
  MockBehavior b;
  CHECK_FALSE(adapters::apply_mock_script("fault_ratio=0.1", b).ok());  // not a key: the list above is the whole set
}

TEST_CASE("mock: the x-mock-script header scripts one provider's requests") {
  IoThreads io;
  auto mock = start_mock();
  auto cfg = mock_config(*mock);
  cfg.headers = {{"x-mock-script", "fault=unavailable;retry_after_s=3"}};
  const auto f = failed(call(*make(io.executor(), cfg), chat_body(), "any"));
  CHECK(f.http_status == 503);
  CHECK(*f.retry_after == 3000ms);
  CHECK(mock->calls("any") == 1);
}

TEST_CASE("mock: fail_times fails the first calls only, usage grows with the prompt") {
  IoThreads io;
  auto mock = start_mock();
  mock->script("flaky", MockBehavior{.fault = MockFault::server_error, .fail_times = 2});
  auto p = make(io.executor(), mock_config(*mock));
  failed(call(*p, chat_body(), "flaky"));
  failed(call(*p, chat_body(), "flaky"));
  const auto short_answer = ok(call(*p, chat_body("short"), "flaky"));
  const auto long_answer = ok(call(*p, chat_body(std::string(4000, 'x')), "flaky"));
  CHECK(mock->calls("flaky") == 4);
  CHECK(long_answer.usage.input_tokens >= 1000);
  CHECK(short_answer.usage.input_tokens < 10);
  CHECK(content_of(short_answer.body) == "Mock answer from flaky to: short");
}

TEST_CASE("mock: an answer stops at the request's max_tokens, as a provider's does") {
  MockBehavior b;
  b.reply = "one two three four five six seven eight";
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    INFO(key);
    auto r = adapters::parse_mock_request(
        adapters::ApiKind::openai, json{{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}, {key, 3}}.dump());
    REQUIRE(r.ok());
    const auto a = adapters::make_mock_answer(*r, b, "id");
    CHECK(a.pieces.size() == 3);
    CHECK(a.completion_tokens == 3);
    CHECK(json::parse(adapters::render_mock_json(*r, a))["choices"][0]["finish_reason"] == "length");
  }
  auto whole = adapters::parse_mock_request(
      adapters::ApiKind::anthropic,
      json{{"model", "m"}, {"max_tokens", 100}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}}.dump());
  REQUIRE(whole.ok());
  const auto a = adapters::make_mock_answer(*whole, b, "id");
  CHECK(a.completion_tokens == 8);
  CHECK(json::parse(adapters::render_mock_json(*whole, a))["stop_reason"] == "end_turn");
}
