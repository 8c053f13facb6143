// tollgate::adapters — JSON text to an nlohmann tree, through the reader in
// adapters/json/json_reader.hpp instead of nlohmann's own lexer.
//
// parse_json(text) returns what nlohmann::json::parse(text, nullptr, false)
// returns: the same tree for the same accepted texts, a discarded value for
// the rest. Only the lexing is ours (nlohmann's copies each character of each
// token into a buffer); the tree is nlohmann's. The fuzzer
// fuzz/fuzz_openai_response.cpp holds the two to each other on arbitrary bytes.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace tollgate::adapters {

nlohmann::json parse_json(std::string_view text);

}  // namespace tollgate::adapters
