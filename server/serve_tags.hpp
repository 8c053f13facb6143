// `tollgate serve`: the tags a request routes on, from the
// `x-tollgate-tags: task=classify,tier=free` header and the body's
// `metadata` object (OpenAI's field for string labels). The header wins
// where both name a tag. Bounded: a few dozen short tags, since they land in
// the ledger, the metrics and every policy evaluation.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "tollgate/error.hpp"

namespace tollgate::tools {

using Tags = std::map<std::string, std::string, std::less<>>;

inline constexpr std::size_t kMaxTags = 32;
inline constexpr std::size_t kMaxTagKey = 64;
inline constexpr std::size_t kMaxTagValue = 256;

// Adds "k=v,k2=v2" (spaces around items ignored) to `tags`. Fails with a
// bad_request naming the offending item.
Result<void> parse_tags_header(std::string_view header, Tags& tags);
// Adds a `metadata` object's entries (strings; numbers and booleans as their
// JSON text). Fails on other shapes.
Result<void> tags_from_metadata(const nlohmann::json& metadata, Tags& tags);

}  // namespace tollgate::tools
