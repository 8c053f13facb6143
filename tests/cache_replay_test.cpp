// Replaying a cached chat.completion as stream chunks: reassembled, it is
// the same message.
#include <catch2/catch.hpp>

#include "adapters/providers/completion_assembler.hpp"
#include "engine/cache/cache_replay.hpp"

using namespace tollgate::engine;
using nlohmann::json;

namespace {

json reassemble(const std::vector<json>& chunks) {
  tollgate::adapters::CompletionAssembler a;
  for (const auto& c : chunks) a.add(c);
  return a.take();
}

}  // namespace

TEST_CASE("a text answer replays as role, word pieces, finish and usage chunks") {
  const json completion = json::parse(R"({
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1778000000,
    "model": "gpt-4o", "system_fingerprint": "fp_1",
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "refusal": null,
                             "content": "The answer is four.\nIt always was, in base ten arithmetic."}}],
    "usage": {"prompt_tokens": 20, "completion_tokens": 12, "total_tokens": 32}})");
  const auto chunks = replay_chunks(completion);
  REQUIRE(chunks.size() >= 5);
  for (const auto& c : chunks) {
    CHECK(c["object"] == "chat.completion.chunk");
    CHECK(c["id"] == "chatcmpl-1");
    CHECK(c["model"] == "gpt-4o");
  }
  CHECK(chunks.front()["choices"][0]["delta"]["role"] == "assistant");
  CHECK(chunks[chunks.size() - 2]["choices"][0]["finish_reason"] == "stop");
  CHECK(chunks.back()["choices"].empty());
  CHECK(chunks.back()["usage"] == completion["usage"]);
  // Content arrives in several pieces, none of them empty.
  int pieces = 0;
  for (const auto& c : chunks) {
    if (c["choices"].empty()) continue;
    const auto& d = c["choices"][0]["delta"];
    if (d.contains("content") && !d.contains("role")) {
      CHECK_FALSE(d["content"].get<std::string>().empty());
      ++pieces;
    }
  }
  CHECK(pieces >= 3);

  const json back = reassemble(chunks);
  CHECK(back["choices"][0]["message"] == completion["choices"][0]["message"]);
  CHECK(back["choices"][0]["finish_reason"] == "stop");
  CHECK(back["usage"] == completion["usage"]);
  CHECK(back["id"] == completion["id"]);
  CHECK(back["system_fingerprint"] == "fp_1");
}

TEST_CASE("tool calls, reasoning and several choices replay exactly") {
  const json completion = json::parse(R"({
    "id": "c2", "object": "chat.completion", "created": 1, "model": "m",
    "choices": [
      {"index": 0, "finish_reason": "tool_calls",
       "message": {"role": "assistant", "content": null,
                   "reasoning_content": "I should look up the weather for both cities first.",
                   "tool_calls": [
                     {"id": "call_a", "type": "function",
                      "function": {"name": "weather", "arguments": "{\"city\": \"Paris\", \"unit\": \"celsius\", \"days\": 3, \"detail\": \"hourly forecast with wind\"}"}},
                     {"id": "call_b", "type": "function",
                      "function": {"name": "weather", "arguments": "{\"city\":\"Oslo\"}"}}]}},
      {"index": 1, "finish_reason": "length",
       "message": {"role": "assistant", "content": ""}}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 50, "total_tokens": 55}})");
  const json back = reassemble(replay_chunks(completion, {.words_per_piece = 2,
                                                          .max_piece_bytes = 16,
                                                          .include_usage = true}));
  REQUIRE(back["choices"].size() == 2);
  CHECK(back["choices"][0]["message"] == completion["choices"][0]["message"]);
  CHECK(back["choices"][0]["finish_reason"] == "tool_calls");
  CHECK(back["choices"][1]["message"] == completion["choices"][1]["message"]);
  CHECK(back["choices"][1]["finish_reason"] == "length");
}

TEST_CASE("without include_usage there is no usage chunk") {
  const json completion = json::parse(R"({"id": "c3", "choices": [{"index": 0,
      "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
      "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})");
  const auto chunks = replay_chunks(completion, {.words_per_piece = 4, .max_piece_bytes = 64,
                                                 .include_usage = false});
  for (const auto& c : chunks) CHECK_FALSE(c.contains("usage"));
  CHECK(chunks.back()["choices"][0]["finish_reason"] == "stop");
}

TEST_CASE("text is split into pieces that rejoin exactly and never cut a UTF-8 character") {
  const std::string text = "日本語のテキストには空白がありません。Ünïcödé wörds  with   spaces\n";
  const ReplayOptions opt{.words_per_piece = 2, .max_piece_bytes = 7, .include_usage = true};
  const auto pieces = split_for_replay(text, opt);
  std::string joined;
  for (auto p : pieces) {
    CHECK_FALSE(p.empty());
    CHECK(p.size() <= 7);
    // A piece starts at a character boundary (not a continuation byte).
    CHECK((static_cast<unsigned char>(p.front()) & 0xC0) != 0x80);
    joined += p;
  }
  CHECK(joined == text);
  CHECK(split_for_replay("", opt).empty());
  const auto words = split_for_replay("one two three four five", {.words_per_piece = 2,
                                                                   .max_piece_bytes = 64,
                                                                   .include_usage = true});
  REQUIRE(words.size() == 3);
  CHECK(words[0] == "one two ");
  CHECK(words[1] == "three four ");
  CHECK(words[2] == "five");
}
