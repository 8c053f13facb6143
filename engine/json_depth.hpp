// tollgate::engine — a bound on how deeply a request body may nest.
//
// The token estimator, the cache key and the wire encoders walk a body
// recursively (nlohmann::json's dump does too), so a body of a million '['
// would overflow the stack. Bodies are checked against this bound before
// anything walks them; no real chat request comes near it.
#pragma once

#include <nlohmann/json_fwd.hpp>

namespace tollgate::engine {

inline constexpr int kMaxBodyDepth = 128;

// True when some value in `value` sits more than `limit` containers deep
// (a scalar is depth 0, `[1]` depth 1). Stops descending at the limit, so
// its own recursion is bounded; allocates nothing.
bool nested_deeper_than(const nlohmann::json& value, int limit) noexcept;

}  // namespace tollgate::engine
