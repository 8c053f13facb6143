// The SSE parser and the stream assembler, fed in every possible split.
#include <catch2/catch.hpp>

#include "adapters/providers/completion_assembler.hpp"
#include "adapters/http/sse.hpp"

using tollgate::adapters::CompletionAssembler;
using tollgate::adapters::SseParser;

namespace {

std::vector<std::pair<std::string, std::string>> parse_split(std::string_view bytes, std::size_t cut) {
  SseParser parser;
  std::vector<std::pair<std::string, std::string>> events;
  auto on = [&](std::string_view e, std::string_view d) {
    events.emplace_back(e, d);
    return true;
  };
  REQUIRE(parser.feed(bytes.substr(0, cut), on) == SseParser::Status::ok);
  REQUIRE(parser.feed(bytes.substr(cut), on) == SseParser::Status::ok);
  CHECK_FALSE(parser.mid_event());
  return events;
}

}  // namespace

TEST_CASE("sse: events parse the same wherever the bytes are split") {
  const std::string stream =
      ": keep-alive comment\r\n"
      "event: message_start\r\ndata: {\"a\":1}\r\n\r\n"
      "data: line one\ndata: line two\n\n"
      "data:no-space\r\rdata: [DONE]\n\n";
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"message_start", "{\"a\":1}"}, {"message", "line one\nline two"}, {"message", "no-space"}, {"message", "[DONE]"}};
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    INFO("split at " << cut);
    CHECK(parse_split(stream, cut) == expected);
  }
}

TEST_CASE("sse: an endless line is refused, and a stop request is honoured") {
  SseParser small(16);
  auto never = [](std::string_view, std::string_view) { return true; };
  CHECK(small.feed("data: 0123456789abcdef", never) == SseParser::Status::line_too_long);
  SseParser p;
  int seen = 0;
  CHECK(p.feed("data: 1\n\ndata: 2\n\n", [&](std::string_view, std::string_view) { return ++seen < 1; }) ==
        SseParser::Status::stopped);
  CHECK(seen == 1);
}

TEST_CASE("assembler: deltas merge into the message a non-streamed answer carries") {
  CompletionAssembler a;
  for (const char* chunk : {
           R"({"id":"x","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})",
           R"({"id":"x","choices":[{"index":0,"delta":{"content":"Hel","reasoning_content":"th"}}]})",
           R"({"id":"x","choices":[{"index":0,"delta":{"content":"lo","reasoning_content":"ink"}}]})",
           R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\""}}]}}]})",
           R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]},"finish_reason":"tool_calls"}]})",
           R"({"choices":[],"usage":{"prompt_tokens":3}})"}) {
    a.add(nlohmann::json::parse(chunk));
  }
  CHECK(a.finished());
  const auto c = a.take();
  CHECK(c["object"] == "chat.completion");
  CHECK(c["model"] == "m");
  const auto& msg = c["choices"][0]["message"];
  CHECK(msg["role"] == "assistant");
  CHECK(msg["content"] == "Hello");
  CHECK(msg["reasoning_content"] == "think");
  CHECK(msg["tool_calls"][0] == nlohmann::json{{"id", "c1"}, {"type", "function"}, {"function", {{"name", "f"}, {"arguments", "{\"a\":1}"}}}});
  CHECK(c["choices"][0]["finish_reason"] == "tool_calls");
  CHECK(c["usage"]["prompt_tokens"] == 3);
}
