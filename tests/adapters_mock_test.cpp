// The mock provider's scripting: per model, per request header, counted
// calls, and realistic usage figures.
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
