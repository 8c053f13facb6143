// Reading usage and finish reason straight off an answer's bytes
// (adapters/providers/answer_scan.hpp) gives what decoding the answer and reading its
// tree gives, for plain answers and for the odd shapes providers send; and
// the provider hands back only the bytes when asked for AnswerForm::text.
#include <string>
#include <vector>

#include "adapters/providers/answer_scan.hpp"
#include "adapters/providers/wire_format.hpp"
#include "tests/adapters_support.hpp"

using namespace tollgate;
using namespace tollgate::test;
using adapters::MockBehavior;

namespace {

// The scan agrees with decode() + usage_of() + finish_reason_of(): facts
// exactly when decode() gives an answer, and the same facts.
void check_agrees(const std::string& body) {
  INFO(body);
  static const auto format = adapters::make_openai_format();
  const auto decoded = format->decode(body);
  const auto facts = adapters::scan_completion(body);
  const auto* tree = std::get_if<nlohmann::json>(&decoded);
  REQUIRE(facts.has_value() == (tree != nullptr));
  if (!tree) return;
  const auto usage = adapters::usage_of(*tree);
  CHECK(facts->usage.input_tokens == usage.input_tokens);
  CHECK(facts->usage.cached_input_tokens == usage.cached_input_tokens);
  CHECK(facts->usage.output_tokens == usage.output_tokens);
  CHECK(facts->finish_reason == adapters::finish_reason_of(*tree));
}

}  // namespace

TEST_CASE("answer scan: a plain answer's usage and finish reason") {
  const std::string body =
      R"({"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m",)"
      R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hi \"there\" {[,]}"},)"
      R"("finish_reason":"length"},{"index":1,"message":{"role":"assistant","content":"x"},"finish_reason":"stop"}],)"
      R"("usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19,)"
      R"("prompt_tokens_details":{"cached_tokens":4}}})";
  const auto facts = adapters::scan_completion(body);
  REQUIRE(facts);
  CHECK(facts->usage.input_tokens == 12);
  CHECK(facts->usage.cached_input_tokens == 4);
  CHECK(facts->usage.output_tokens == 7);
  CHECK(facts->finish_reason == "length");  // the first choice's
  check_agrees(body);
}

TEST_CASE("answer scan: odd shapes read as the tree reads them") {
  const std::vector<std::string> bodies = {
      // DeepSeek's cache field; cached_tokens of 0 falls back to it.
      R"({"choices":[],"usage":{"prompt_tokens":9,"prompt_cache_hit_tokens":5}})",
      R"({"choices":[],"usage":{"prompt_tokens":9,"prompt_tokens_details":{"cached_tokens":0},"prompt_cache_hit_tokens":5}})",
      R"({"choices":[],"usage":{"prompt_tokens_details":{"cached_tokens":3},"prompt_cache_hit_tokens":5}})",
      // Counts out of range, negative, fractional, strings, huge.
      R"({"choices":[],"usage":{"prompt_tokens":-5,"completion_tokens":2.5}})",
      R"({"choices":[],"usage":{"prompt_tokens":"12","completion_tokens":true}})",
      R"({"choices":[],"usage":{"prompt_tokens":99999999999999999999,"completion_tokens":18446744073709551615}})",
      R"({"choices":[],"usage":{"prompt_tokens":1099511627777,"completion_tokens":-9223372036854775808}})",
      // Duplicate members: the last one wins, as in the tree.
      R"({"choices":[],"usage":{"prompt_tokens":1},"usage":{"completion_tokens":2}})",
      R"({"choices":[],"usage":{"prompt_tokens":1},"usage":7})",
      R"({"choices":[{"finish_reason":"stop"}],"choices":[{"finish_reason":"length"}]})",
      R"({"choices":[{"finish_reason":"stop","finish_reason":null}]})",
      R"({"choices":[{"finish_reason":"stop"}],"choices":{"0":1}})",
      R"({"usage":{"prompt_tokens":1,"prompt_tokens":4,"prompt_tokens_details":{"cached_tokens":2},"prompt_tokens_details":[]}, "choices":[]})",
      // Shapes that are not what is read.
      R"({"choices":[["finish_reason","stop"]],"usage":[{"prompt_tokens":3}]})",
      R"({"choices":["stop",{"finish_reason":"length"}]})",
      R"({"choices":[{"message":{"finish_reason":"stop","usage":{"prompt_tokens":3}}}],"x":{"usage":{"prompt_tokens":3}}})",
      R"({"choices":[{"finish_reason":5}],"usage":{"prompt_tokens_details":5,"prompt_tokens":[1]}})",
      R"({"choices":[{"finish_reason":"tool_calls"}],"usage":null})",
      // Not answers: decode() refuses them, and so does the scan.
      R"({"error":{"message":"overloaded"},"choices":[]})",
      R"({"choices":[],"error":null})",
      R"({"choices":{}})",
      R"({"usage":{"prompt_tokens":3}})",
      R"([{"choices":[]}])",
      R"("choices")",
      R"(42)",
      R"({"choices":[]} trailing)",
      R"({"choices":[)",
      "{\"choices\":[],\"bad\":\"\xff\"}",
      "",
  };
  for (const auto& body : bodies) check_agrees(body);
}

TEST_CASE("openai: an answer asked for as text is its bytes, with usage and no tree") {
  IoThreads io;
  auto mock = start_mock();
  mock->script("m1", MockBehavior{.reply = "Hello, bytes.", .cached_tokens = 3});
  auto p = make(io.executor(), mock_config(*mock));

  const auto tree = ok(call(*p, chat_body(), "m1"));
  const auto text = ok(call(*p, chat_body(), "m1", false, nullptr, nullptr, adapters::AnswerForm::text));
  CHECK(text.body.is_null());
  REQUIRE_FALSE(text.body_text.empty());
  CHECK(content_of(nlohmann::json::parse(text.body_text)) == "Hello, bytes.");
  CHECK(text.usage.input_tokens == tree.usage.input_tokens);
  CHECK(text.usage.cached_input_tokens == 3);
  CHECK(text.usage.output_tokens == tree.usage.output_tokens);
  CHECK(text.finish_reason == "stop");

  // An answer that is not one fails as it does read into a tree.
  mock->script("bad", MockBehavior{.fault = adapters::MockFault::malformed});
  const auto failed = call(*p, chat_body(), "bad", false, nullptr, nullptr, adapters::AnswerForm::text);
  REQUIRE(std::holds_alternative<adapters::Failure>(failed));
  CHECK(std::get<adapters::Failure>(failed).kind == adapters::FailureKind::malformed);

  // A stream is assembled into a tree whatever was asked.
  const auto streamed = ok(call(*p, chat_body(), "m1", true, nullptr, nullptr, adapters::AnswerForm::text));
  CHECK(content_of(streamed.body) == "Hello, bytes.");
  CHECK(streamed.body_text.empty());
}
