// tollgate::adapters — usage and finish reason read straight off the bytes
// of an OpenAI "chat.completion" answer, without building its JSON tree.
//
// A gateway that passes the provider's bytes on (Response::body_text) needs
// only these two facts from them; parsing the whole answer into a DOM to
// read them was ~8 % of `tollgate serve`'s CPU. The scan reads exactly what
// decode() followed by usage_of() and finish_reason_of() would (the fuzzer
// in fuzz/fuzz_openai_response.cpp holds them to it), and gives up on
// anything decode() would not return as an answer.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "adapters/providers/provider.hpp"

namespace tollgate::adapters {

struct AnswerFacts {
  Usage usage;
  std::string finish_reason;
};

// The facts of `body` when it is valid JSON no deeper than kMaxJsonDepth
// (adapters/json/json_parse.hpp), an object, holds a "choices" array and no
// "error" member; nullopt otherwise (decode() then says why).
std::optional<AnswerFacts> scan_completion(std::string_view body);

}  // namespace tollgate::adapters
