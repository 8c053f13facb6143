// tollgate::engine — a bound on how deeply a request body may nest.
//
// The token estimator, the cache key and the wire encoders walk a body
// recursively (nlohmann::json's dump does too), so a body of a million '['
// would overflow the stack. Bodies are checked against this bound before
// anything walks them; no real chat request comes near it.
#pragma once

#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace tollgate::engine {

inline constexpr int kMaxBodyDepth = 128;

// True when some value in `value` sits more than `limit` containers deep
// (a scalar is depth 0, `[1]` depth 1). Stops descending at the limit, so
// its own recursion is bounded; allocates nothing.
bool nested_deeper_than(const nlohmann::json& value, int limit) noexcept;

// The same bound read off JSON text before it is parsed: true when some '['
// or '{' outside a string opens more than `limit` containers deep. Text that
// is not valid JSON may give either answer; the parse that follows refuses
// it. One pass over the bytes, so a parser can run without a per-value
// callback (nlohmann's callback parser is several times slower).
bool text_nested_deeper_than(std::string_view json_text, int limit) noexcept;

}  // namespace tollgate::engine
