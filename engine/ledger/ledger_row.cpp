#include "engine/ledger/ledger_row.hpp"

namespace tollgate::engine {

std::optional<AttemptStatus> attempt_status_from(std::string_view text) noexcept {
  if (text == "ok") return AttemptStatus::ok;
  if (text == "error") return AttemptStatus::error;
  if (text == "cache_hit") return AttemptStatus::cache_hit;
  if (text == "denied") return AttemptStatus::denied;
  return std::nullopt;
}

}  // namespace tollgate::engine
