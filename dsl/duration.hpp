// Durations as policy authors write them: "500ms", "30s", "10m", "1h", "7d",
// or a bare number of seconds.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace tollgate::dsl {

// Milliseconds, or nullopt when the text is not a duration.
std::optional<int64_t> parse_duration_ms(std::string_view text);

}  // namespace tollgate::dsl
