// Replays a cached "chat.completion" as the "chat.completion.chunk" objects a
// streaming client would have received, so a streamed request can be
// answered from the cache with the same SSE framing as a live answer.
//
// Per choice: a role delta (with the message's non-text fields), the text
// fields (reasoning_content, then content, then any other string field) in
// pieces of a few words, each tool call (id, type and name first, then its
// arguments in pieces), and a chunk with the finish_reason; then one chunk
// with empty choices and the usage (the shape of stream_options.include_usage).
// Concatenating the deltas (adapters::CompletionAssembler) gives back the
// same message, finish_reason and usage.
//
// Pure functions: call from any thread.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace tollgate::engine {

struct ReplayOptions {
  std::size_t words_per_piece = 4;
  // A piece never exceeds this many bytes (text without spaces, CJK, tool
  // arguments), cut at a UTF-8 character boundary.
  std::size_t max_piece_bytes = 64;
  bool include_usage = true;  // the client asked for stream_options.include_usage
};

// `completion` must be an object; choices or usage missing are tolerated.
std::vector<nlohmann::json> replay_chunks(const nlohmann::json& completion,
                                          const ReplayOptions& options = {});

// `text` cut into pieces that concatenate back to it exactly.
std::vector<std::string_view> split_for_replay(std::string_view text, const ReplayOptions& options);

}  // namespace tollgate::engine
