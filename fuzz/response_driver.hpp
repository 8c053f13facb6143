// Drives one wire format over provider bytes the way http_provider.cpp
// does: the bytes as a whole answer (decode), as an error answer
// (classify), and as an SSE stream (stream decoder, then the completion
// assembler). Checks what every format promises: decoded answers and
// assembled streams are "chat.completion" objects with a choices array, and
// nothing throws (an exception here would escape a network handler).
#pragma once

#include <chrono>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/providers/completion_assembler.hpp"
#include "adapters/http/sse.hpp"
#include "adapters/providers/wire_format.hpp"
#include "fuzz/fuzz_check.hpp"

namespace tollgate::fuzz {

inline void check_completion(const nlohmann::json& c) {
  FUZZ_CHECK(c.is_object());
  FUZZ_CHECK(c.contains("choices") && c["choices"].is_array());
  (void)adapters::usage_of(c);
  (void)adapters::finish_reason_of(c);
  (void)c.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);  // what the gateway sends
}

// Returns the whole-answer decode, for format-specific checks.
inline std::variant<nlohmann::json, adapters::Failure> exercise_format(const adapters::WireFormat& format,
                                                                       std::string_view bytes) {
  using adapters::Failure;
  auto decoded = format.decode(bytes);
  if (auto* j = std::get_if<nlohmann::json>(&decoded)) check_completion(*j);
  if (auto* f = std::get_if<Failure>(&decoded)) FUZZ_CHECK(!f->message.empty());

  for (int status : {400, 401, 429, 500}) {
    const Failure f = format.classify(status, bytes, std::chrono::milliseconds(1000));
    FUZZ_CHECK(f.http_status == status);
    FUZZ_CHECK(!f.message.empty());
  }

  auto decoder = format.stream_decoder();
  adapters::SseParser sse;
  adapters::CompletionAssembler assembler;
  std::vector<nlohmann::json> chunks;
  bool done = false;
  (void)sse.feed(bytes, [&](std::string_view event, std::string_view data) {
    chunks.clear();
    auto step = decoder->on_event(event, data, chunks);
    for (const auto& chunk : chunks) {
      FUZZ_CHECK(chunk.is_object());
      (void)adapters::carries_tokens(chunk);
      assembler.add(chunk);
    }
    if (auto* f = std::get_if<Failure>(&step)) {
      FUZZ_CHECK(!f->message.empty());
      return false;  // http_provider ends the stream on a failure
    }
    done = std::get<adapters::StreamDecoder::Step>(step) == adapters::StreamDecoder::Step::done;
    return !done;
  });
  check_completion(assembler.take());
  return decoded;
}

}  // namespace tollgate::fuzz
