// The wall clock as tollgate stores it: Unix time in milliseconds (ledger
// rows, cap windows, cache expiry). Durations use steady_clock instead.
#pragma once

#include <chrono>
#include <cstdint>

namespace tollgate::engine {

inline int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace tollgate::engine
