// The OpenAI-compatible adapter against the mock on loopback: answers,
// streams, tool calls, and how each provider failure is classified.
#include "adapters/providers/wire_format.hpp"
#include "tests/adapters_support.hpp"

using namespace tollgate;
using namespace tollgate::test;
using adapters::FailureKind;
using adapters::MockBehavior;
using adapters::MockFault;

TEST_CASE("openai: a non-streamed answer carries text, usage and finish reason") {
  IoThreads io;
  auto mock = start_mock();
  mock->script("m1", MockBehavior{.reply = "Hello, tests.", .cached_tokens = 3});
  auto p = make(io.executor(), mock_config(*mock));

  auto r = call(*p, chat_body(), "m1");
  const auto a = ok(r);
  CHECK(content_of(a.body) == "Hello, tests.");
  CHECK(a.body["object"] == "chat.completion");
  CHECK(a.finish_reason == "stop");
  CHECK(a.usage.input_tokens > 0);
  CHECK(a.usage.cached_input_tokens == 3);
  CHECK(a.usage.output_tokens == 2);
  CHECK(mock->calls("m1") == 1);
}

TEST_CASE("openai: streamed deltas reassemble byte-exactly to the non-streamed answer") {
  IoThreads io;
  auto mock = start_mock();
  const std::string reply = "Ünïcödé  text, with \"quotes\", \\ backslashes,\nnewlines and  double  spaces.";
  mock->script("m", MockBehavior{.reply = reply});
  auto p = make(io.executor(), mock_config(*mock));

  const auto whole = ok(call(*p, chat_body(), "m"));
  Deltas deltas;
  const auto streamed = ok(call(*p, chat_body(), "m", true, deltas.fn()));

  CHECK(deltas.text() == reply);
  CHECK(content_of(streamed.body) == content_of(whole.body));
  CHECK(streamed.body["choices"][0]["message"] == whole.body["choices"][0]["message"]);
  CHECK(streamed.usage.input_tokens == whole.usage.input_tokens);
  CHECK(streamed.usage.output_tokens == whole.usage.output_tokens);  // from include_usage
  CHECK(streamed.finish_reason == "stop");
  CHECK(json::parse(whole.body_text) == whole.body);  // the bytes it was parsed from
  CHECK(streamed.body_text.empty());                  // assembled: no such bytes
  CHECK(deltas.chunks.size() > 5);
  CHECK(deltas.chunks.front()["object"] == "chat.completion.chunk");
}

TEST_CASE("openai: n answers come back as n choices, streamed or not, and usage bills each") {
  IoThreads io;
  auto mock = start_mock();
  mock->script("m", MockBehavior{.reply = "two of these"});
  auto p = make(io.executor(), mock_config(*mock));
  json body = chat_body();
  const auto one = ok(call(*p, body, "m"));
  body["n"] = 2;
  const auto whole = ok(call(*p, body, "m"));
  Deltas deltas;
  const auto streamed = ok(call(*p, body, "m", true, deltas.fn()));
  for (const auto* r : {&whole, &streamed}) {
    REQUIRE(r->body["choices"].size() == 2);
    CHECK(r->body["choices"][1]["index"] == 1);
    CHECK(r->body["choices"][1]["message"]["content"] == "two of these");
    CHECK(r->usage.input_tokens == one.usage.input_tokens);  // the prompt once
    CHECK(r->usage.output_tokens == 2 * one.usage.output_tokens);
  }
  for (int i : {0, 1}) CHECK(streamed.body["choices"][i]["message"] == whole.body["choices"][i]["message"]);
}

TEST_CASE("openai: tool calls and unknown fields pass through") {
  IoThreads io;
  auto mock = start_mock();
  mock->script("tools", MockBehavior{.tool_name = "get_weather",
                                     .tool_arguments = R"({"city":"Paris","unit":"celsius"})"});
  auto p = make(io.executor(), mock_config(*mock));
  json body = chat_body("Weather in Paris?");
  body["tools"] = json::array({{{"type", "function"},
                                {"function", {{"name", "get_weather"}, {"parameters", {{"type", "object"}}}}}}});
  body["vendor_extension"] = {{"anything", 1}};

  const auto whole = ok(call(*p, body, "tools"));
  Deltas deltas;
  const auto streamed = ok(call(*p, body, "tools", true, deltas.fn()));
  for (const auto* a : {&whole, &streamed}) {
    const auto call0 = a->body["choices"][0]["message"]["tool_calls"][0];
    CHECK(call0["function"]["name"] == "get_weather");
    CHECK(call0["function"]["arguments"] == R"({"city":"Paris","unit":"celsius"})");
    CHECK(a->finish_reason == "tool_calls");
  }
  CHECK(whole.body["choices"][0]["message"]["tool_calls"][0]["function"] ==
        streamed.body["choices"][0]["message"]["tool_calls"][0]["function"]);
}

TEST_CASE("openai: request encoding keeps the caller's fields and sets model and stream") {
  auto format = adapters::make_openai_format();
  json body = chat_body();
  body["model"] = "ignored";
  body["temperature"] = 0.25;
  body["stream_options"] = {{"custom", true}};
  body["x_vendor"] = {1, 2, 3};
  const json sent = json::parse(*format->encode(body, "real-model", true));
  CHECK(sent["model"] == "real-model");
  CHECK(sent["stream"] == true);
  CHECK(sent["stream_options"] == json{{"custom", true}, {"include_usage", true}});
  CHECK(sent["temperature"] == 0.25);
  CHECK(sent["x_vendor"] == json{1, 2, 3});
  CHECK(sent["messages"] == body["messages"]);
  const json plain = json::parse(*format->encode(body, "real-model", false));
  CHECK_FALSE(plain.contains("stream"));
  CHECK(format->encode(json::array(), "m", false).error().find("JSON object") != std::string::npos);
}

TEST_CASE("openai: keep-alive reuses one connection for sequential calls") {
  IoThreads io;
  auto mock = start_mock();
  auto p = make(io.executor(), mock_config(*mock));
  for (int i = 0; i < 5; ++i) ok(call(*p, chat_body(), "m", i % 2 == 1));
  CHECK(p->open_connections() == 1);
  CHECK(mock->open_connections() == 1);
  CHECK(mock->total_calls() == 5);
}

TEST_CASE("openai: provider errors are classified with the provider's message") {
  IoThreads io;
  auto mock = start_mock();
  auto p = make(io.executor(), mock_config(*mock));

  mock->script("limited", MockBehavior{.fault = MockFault::rate_limit, .retry_after = 7s});
  const auto rl = failed(call(*p, chat_body(), "limited"));
  CHECK(rl.kind == FailureKind::retryable);
  CHECK(rl.http_status == 429);
  REQUIRE(rl.retry_after.has_value());
  CHECK(*rl.retry_after == 7000ms);
  CHECK(rl.message.find("Rate limit reached for limited") != std::string::npos);

  mock->script("broken", MockBehavior{.fault = MockFault::server_error});
  CHECK(failed(call(*p, chat_body(), "broken")).kind == FailureKind::retryable);
  mock->script("busy", MockBehavior{.fault = MockFault::unavailable});
  CHECK(failed(call(*p, chat_body(), "busy")).http_status == 503);

  mock->script("small", MockBehavior{.context_window = 5});
  const auto cl = failed(call(*p, chat_body(), "small"));
  CHECK(cl.kind == FailureKind::context_length);
  CHECK(cl.message.find("maximum context length is 5 tokens") != std::string::npos);

  mock->script("picky", MockBehavior{.fault = MockFault::bad_request});
  const auto br = failed(call(*p, chat_body(), "picky"));
  CHECK(br.kind == FailureKind::request);
  CHECK(br.message.find("temperature") != std::string::npos);

  mock->script("weird", MockBehavior{.fault = MockFault::malformed});
  CHECK(failed(call(*p, chat_body(), "weird")).kind == FailureKind::malformed);
  CHECK(failed(call(*p, chat_body(), "weird", true)).kind == FailureKind::malformed);
}

TEST_CASE("openai: the key is sent, and never appears in an error") {
  IoThreads io;
  adapters::MockServerOptions o;
  o.api_key = "sk-test-secret-123456";
  auto mock = start_mock(o);

  auto good = mock_config(*mock);
  good.api_key = "sk-test-secret-123456";
  ok(call(*make(io.executor(), good), chat_body(), "m"));

  auto bad = mock_config(*mock);
  bad.api_key = "sk-wrong-key-abcdef";
  const auto f = failed(call(*make(io.executor(), bad), chat_body(), "m"));
  CHECK(f.kind == FailureKind::auth);
  CHECK(f.http_status == 401);
  CHECK(f.message.find("sk-wrong") == std::string::npos);

  auto from_env = mock_config(*mock);
  from_env.api_key_env = "TOLLGATE_TEST_SURELY_UNSET_KEY";
  auto missing = adapters::make_provider(io.executor(), from_env);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().find("TOLLGATE_TEST_SURELY_UNSET_KEY") != std::string::npos);
}

TEST_CASE("openai: transport failures: reset, truncation, timeouts, size limit") {
  IoThreads io;
  auto mock = start_mock();
  auto cfg = mock_config(*mock);
  cfg.connection.first_byte_timeout = 300ms;
  cfg.connection.idle_timeout = 300ms;
  auto p = make(io.executor(), cfg);

  mock->script("reset", MockBehavior{.fault = MockFault::reset});
  CHECK(failed(call(*p, chat_body(), "reset")).kind == FailureKind::retryable);

  mock->script("cut", MockBehavior{.reply = "one two three four five six", .fault = MockFault::truncate});
  Deltas deltas;
  const auto cut = failed(call(*p, chat_body(), "cut", true, deltas.fn()));
  CHECK(cut.kind == FailureKind::truncated);
  CHECK(cut.deltas_delivered);
  CHECK(deltas.text() == "one two");
  CHECK(failed(call(*p, chat_body(), "cut")).kind == FailureKind::truncated);

  mock->script("hang", MockBehavior{.fault = MockFault::hang});
  const auto hang = failed(call(*p, chat_body(), "hang"));
  CHECK(hang.kind == FailureKind::timeout);
  CHECK(hang.message.find("waiting for the response") != std::string::npos);

  // 2 tokens a second against a 300 ms idle limit.
  mock->script("slow", MockBehavior{.reply = "a b c d e f", .tokens_per_second = 2});
  const auto slow = failed(call(*p, chat_body(), "slow", true));
  CHECK(slow.kind == FailureKind::timeout);
  CHECK(slow.message.find("reading the response") != std::string::npos);

  auto total = mock_config(*mock);
  total.connection.total_timeout = 300ms;
  mock->script("late", MockBehavior{.latency = 5s});
  const auto late = failed(call(*make(io.executor(), total), chat_body(), "late"));
  CHECK(late.kind == FailureKind::timeout);

  auto tiny = mock_config(*mock);
  tiny.connection.max_response_bytes = 64;
  mock->script("big", MockBehavior{.reply = std::string(1000, 'x')});
  const auto big = failed(call(*make(io.executor(), tiny), chat_body(), "big"));
  CHECK(big.message.find("exceeded 64 bytes") != std::string::npos);

  auto refused = mock_config(*mock);
  refused.base_url = "http://127.0.0.1:1/v1";
  const auto nobody = failed(call(*make(io.executor(), refused), chat_body(), "m"));
  CHECK(nobody.kind == FailureKind::retryable);
  CHECK(nobody.message.find("cannot connect") != std::string::npos);
}

TEST_CASE("openai: cancelling mid-stream ends the request and frees its connection") {
  IoThreads io;
  auto mock = start_mock();
  mock->script("long", MockBehavior{.reply = std::string(200, 'w') + " and many more words to come",
                                    .tokens_per_second = 1});
  auto p = make(io.executor(), mock_config(*mock));
  auto cancel = std::make_shared<adapters::CancelSignal>();
  auto first = std::make_shared<std::promise<void>>();
  auto once = std::make_shared<std::once_flag>();
  auto promise = std::make_shared<std::promise<adapters::ChatResult>>();
  auto future = promise->get_future();
  p->async_chat(chat_body(), "long", true, adapters::AnswerForm::json,
                [first, once](const json&) { std::call_once(*once, [&] { first->set_value(); }); },
                cancel, [promise](adapters::ChatResult r) { promise->set_value(std::move(r)); });
  REQUIRE(first->get_future().wait_for(kDeadline) == std::future_status::ready);
  REQUIRE(mock->open_connections() == 1);
  cancel->cancel();
  REQUIRE(future.wait_for(kDeadline) == std::future_status::ready);
  const auto r = future.get();
  CHECK(failed(r).kind == FailureKind::cancelled);
  CHECK(p->open_connections() == 0);
  CHECK(eventually([&] { return mock->open_connections() == 0; }));
}
