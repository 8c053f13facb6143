// The Anthropic Messages adapter: requests translated from the OpenAI
// shape, answers and stream events translated back, errors classified.
#include "adapters/providers/wire_format.hpp"
#include "tests/adapters_support.hpp"

using namespace tollgate;
using namespace tollgate::test;
using adapters::ApiKind;
using adapters::FailureKind;
using adapters::MockBehavior;
using adapters::MockFault;

TEST_CASE("anthropic: an answer and its stream agree byte for byte, usage counts cache reads") {
  IoThreads io;
  auto mock = start_mock();
  const std::string reply = "Bonjour — a \"quoted\" answer\twith tabs, ünïcode and  spaces.";
  mock->script("claude", MockBehavior{.reply = reply, .cached_tokens = 4});
  auto p = make(io.executor(), mock_config(*mock, ApiKind::anthropic));

  const auto whole = ok(call(*p, chat_body(), "claude"));
  Deltas deltas;
  const auto streamed = ok(call(*p, chat_body(), "claude", true, deltas.fn()));
  CHECK(content_of(whole.body) == reply);
  CHECK(deltas.text() == reply);
  CHECK(content_of(streamed.body) == reply);
  for (const auto* a : {&whole, &streamed}) {
    CHECK(a->finish_reason == "stop");
    CHECK(a->usage.cached_input_tokens == 4);
    CHECK(a->usage.input_tokens > 4);  // cache reads included
    CHECK(a->usage.output_tokens > 0);
  }
  CHECK(whole.usage.input_tokens == streamed.usage.input_tokens);
  CHECK(whole.usage.output_tokens == streamed.usage.output_tokens);
  // Translated from Messages: there are no provider bytes of this object.
  CHECK(whole.body_text.empty());
  CHECK(streamed.body_text.empty());
}

TEST_CASE("anthropic: tool use comes back as OpenAI tool calls, streamed or not") {
  IoThreads io;
  auto mock = start_mock();
  mock->script("claude", MockBehavior{.tool_name = "lookup", .tool_arguments = R"({"q":"tollgate","limit":3})"});
  auto p = make(io.executor(), mock_config(*mock, ApiKind::anthropic));
  const auto whole = ok(call(*p, chat_body(), "claude"));
  const auto streamed = ok(call(*p, chat_body(), "claude", true));
  for (const auto* a : {&whole, &streamed}) {
    const auto& c = a->body["choices"][0]["message"]["tool_calls"][0];
    CHECK(c["function"]["name"] == "lookup");
    CHECK(json::parse(c["function"]["arguments"].get<std::string>()) == json{{"q", "tollgate"}, {"limit", 3}});
    CHECK(a->finish_reason == "tool_calls");
  }
}

TEST_CASE("anthropic: errors are classified from Anthropic's error bodies") {
  IoThreads io;
  auto mock = start_mock();
  auto p = make(io.executor(), mock_config(*mock, ApiKind::anthropic));
  mock->script("busy", MockBehavior{.fault = MockFault::rate_limit, .retry_after = 2s});
  const auto rl = failed(call(*p, chat_body(), "busy"));
  CHECK(rl.kind == FailureKind::retryable);
  CHECK(*rl.retry_after == 2000ms);
  mock->script("small", MockBehavior{.context_window = 3});
  const auto cl = failed(call(*p, chat_body(), "small"));
  CHECK(cl.kind == FailureKind::context_length);
  CHECK(cl.message.find("prompt is too long") != std::string::npos);
  mock->script("cut", MockBehavior{.fault = MockFault::truncate});
  CHECK(failed(call(*p, chat_body(), "cut", true)).kind == FailureKind::truncated);

  // An error event inside a 200 stream.
  auto stream = adapters::make_anthropic_format(1024)->stream_decoder();
  std::vector<json> out;
  auto step = stream->on_event("error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})", out);
  REQUIRE(std::holds_alternative<adapters::Failure>(step));
  CHECK(std::get<adapters::Failure>(step).kind == FailureKind::retryable);
  CHECK(std::get<adapters::Failure>(step).message == "Overloaded");
}

TEST_CASE("anthropic: requests are translated: system, max_tokens, tools, tool results") {
  auto format = adapters::make_anthropic_format(777);
  json body = {
      {"messages", json::array({
                       {{"role", "system"}, {"content", "Be brief."}},
                       {{"role", "user"}, {"content", "Weather?"}},
                       {{"role", "assistant"},
                        {"content", nullptr},
                        {"tool_calls", json::array({{{"id", "call_1"}, {"type", "function"},
                                                     {"function", {{"name", "weather"}, {"arguments", R"({"city":"Oslo"})"}}}},
                                                    {{"id", "call_2"}, {"type", "function"},
                                                     {"function", {{"name", "time"}, {"arguments", "{}"}}}}})}},
                       {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "rain"}},
                       {{"role", "tool"}, {"tool_call_id", "call_2"}, {"content", "noon"}},
                       {{"role", "user"}, {"content", json::array({{{"type", "text"}, {"text", "And?"}},
                                                                   {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,AAAA"}}}}})}},
                   })},
      {"tools", json::array({{{"type", "function"},
                              {"function", {{"name", "weather"}, {"description", "d"}, {"parameters", {{"type", "object"}}}}}}})},
      {"tool_choice", "required"},
      {"stop", "END"},
      {"temperature", 0.5},
      {"frequency_penalty", 1}};
  const json sent = json::parse(*format->encode(body, "claude-x", true));
  CHECK(sent["model"] == "claude-x");
  CHECK(sent["max_tokens"] == 777);
  CHECK(sent["system"] == "Be brief.");
  CHECK(sent["stream"] == true);
  CHECK(sent["stop_sequences"] == json::array({"END"}));
  CHECK(sent["temperature"] == 0.5);
  CHECK_FALSE(sent.contains("frequency_penalty"));  // OpenAI-only: Anthropic would reject it
  CHECK(sent["tool_choice"] == json{{"type", "any"}});
  CHECK(sent["tools"][0] == json{{"name", "weather"}, {"description", "d"}, {"input_schema", {{"type", "object"}}}});
  const auto& m = sent["messages"];
  REQUIRE(m.size() == 4);
  CHECK(m[1]["content"][0] == json{{"type", "tool_use"}, {"id", "call_1"}, {"name", "weather"}, {"input", {{"city", "Oslo"}}}});
  CHECK(m[2]["role"] == "user");
  REQUIRE(m[2]["content"].size() == 2);  // both results in one turn
  CHECK(m[2]["content"][1]["tool_use_id"] == "call_2");
  CHECK(m[3]["content"][1]["source"] == json{{"type", "base64"}, {"media_type", "image/png"}, {"data", "AAAA"}});

  body["max_tokens"] = 55;
  CHECK(json::parse(*format->encode(body, "c", false))["max_tokens"] == 55);
  // Anthropic gives one answer a call: several are refused, not cut to one.
  body["n"] = 1;
  CHECK(format->encode(body, "c", false).ok());
  body["n"] = 3;
  CHECK(format->encode(body, "c", false).error().find("n = 3 asks for several answers") != std::string::npos);
  body.erase("n");
  body["messages"].push_back({{"role", "narrator"}, {"content", "?"}});
  CHECK(format->encode(body, "c", false).error().find("unknown message role 'narrator'") != std::string::npos);
}

// Found by fuzz/fuzz_anthropic_response.cpp: nlohmann's value() threw on a
// field of another type, and the exception escaped into the network handler.
TEST_CASE("anthropic: fields of the wrong type read as absent, and usage cannot go negative or overflow") {
  auto format = adapters::make_anthropic_format(1024);
  auto stream = format->stream_decoder();
  std::vector<json> out;
  CHECK(std::holds_alternative<adapters::StreamDecoder::Step>(
      stream->on_event("content_block_delta", R"({"type":{"output_tokens":15}})", out)));
  CHECK(std::holds_alternative<adapters::StreamDecoder::Step>(
      stream->on_event("message_start", R"({"type":"message_start","message":7})", out)));
  CHECK(std::holds_alternative<adapters::StreamDecoder::Step>(stream->on_event(
      "content_block_start", R"({"type":"content_block_start","content_block":{"type":"text","text":[1]}})", out)));

  const auto decoded = format->decode(
      R"({"id":5,"content":[3,{"type":"text","text":{"a":1}},{"type":"tool_use","name":[],"input":"x"}],)"
      R"("usage":{"input_tokens":-40,"cache_read_input_tokens":9223372036854775807,"output_tokens":18446744073709551615}})");
  REQUIRE(std::holds_alternative<json>(decoded));
  const auto usage = adapters::usage_of(std::get<json>(decoded));
  CHECK(usage.input_tokens == int64_t{1} << 40);  // negative read as 0, the huge count capped
  CHECK(usage.cached_input_tokens == int64_t{1} << 40);
  CHECK(usage.output_tokens == int64_t{1} << 40);

  const json odd = {{"messages", json::array({{{"role", 5}}, {{"role", "user"}, {"content", "hi"}}})}};
  CHECK_FALSE(format->encode(odd, "c", false).ok());  // a role that is not a string is refused, not thrown
  const json tools = {{"messages", json::array({{{"role", "user"}, {"content", "hi"}}})},
                      {"tools", json::array({5, {{"function", {{"name", 1}}}}})},
                      {"parallel_tool_calls", "no"},
                      {"tool_choice", {{"function", "x"}}}};
  CHECK(format->encode(tools, "c", false).ok());
}
