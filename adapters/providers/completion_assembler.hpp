// tollgate::adapters — builds the "chat.completion" a streamed answer would
// have been, from its "chat.completion.chunk" deltas.
//
// String fields of a delta are concatenated (content, reasoning_content,
// refusal, and any a provider adds), tool calls are merged by index (name
// and arguments concatenated), other fields keep their last value, so the
// assembled message equals, byte for byte, the non-streamed one.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

namespace tollgate::adapters {

class CompletionAssembler {
 public:
  void add(const nlohmann::json& chunk);
  // Whether any choice has received its finish_reason.
  bool finished() const { return finished_; }
  // The text received so far: every choice's string fields (content,
  // reasoning, refusal, ...) and tool calls' names and arguments. What a
  // stream cut midway had generated. Call before take().
  std::string text_so_far() const;
  // The assembled "chat.completion". Call once.
  nlohmann::json take();

 private:
  struct Choice {
    nlohmann::json message = nlohmann::json::object();
    std::vector<nlohmann::json> tool_calls;
    nlohmann::json finish_reason;  // null until the provider sends one
  };
  nlohmann::json head_ = nlohmann::json::object();  // id, created, model, ...
  std::vector<Choice> choices_;
  nlohmann::json usage_;
  bool finished_ = false;
};

// Whether a chunk carries part of the answer (text, a tool call), as opposed
// to only a role, a finish reason or usage.
bool carries_tokens(const nlohmann::json& chunk);

}  // namespace tollgate::adapters
