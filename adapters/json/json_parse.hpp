// tollgate::adapters — JSON text to an nlohmann tree, through the reader in
// adapters/json/json_reader.hpp (Boost.JSON's basic_parser) instead of
// nlohmann's own lexer.
//
// parse_json(text) returns what nlohmann::json::parse(text, nullptr, false)
// returns: the same tree for the same accepted texts, a discarded value for
// the rest (and for an exponent past INT_MAX, json_reader.hpp says why).
// Only the lexing is not nlohmann's (its lexer copies each character of each
// token into a buffer); the tree is. The fuzzer fuzz/fuzz_openai_response.cpp
// holds the two to each other on arbitrary bytes.
//
// Depth is bounded: a text that nests more than `max_depth` containers is
// refused (discarded) as if it were not JSON. The tree is walked recursively
// afterwards (dump(), comparisons, the encoders, the destructor), so an
// answer of 100,000 '[' from a hostile upstream would otherwise overflow an
// I/O thread's stack. No real answer or request comes near the default.
#pragma once

#include <climits>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tollgate::adapters {

inline constexpr int kMaxJsonDepth = 128;
// For comparing with nlohmann's own parser, which has no bound, on a test's
// texts: the reader recurses once per level.
inline constexpr int kUnboundedJsonDepth = INT_MAX;

nlohmann::json parse_json(std::string_view text, int max_depth = kMaxJsonDepth);

}  // namespace tollgate::adapters
