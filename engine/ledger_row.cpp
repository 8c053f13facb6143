#include "engine/ledger_row.hpp"

namespace tollgate::engine {

std::string_view to_string(AttemptStatus status) noexcept {
  switch (status) {
    case AttemptStatus::ok: return "ok";
    case AttemptStatus::error: return "error";
    case AttemptStatus::cache_hit: return "cache_hit";
    case AttemptStatus::denied: return "denied";
  }
  return "error";
}

std::optional<AttemptStatus> attempt_status_from(std::string_view text) noexcept {
  if (text == "ok") return AttemptStatus::ok;
  if (text == "error") return AttemptStatus::error;
  if (text == "cache_hit") return AttemptStatus::cache_hit;
  if (text == "denied") return AttemptStatus::denied;
  return std::nullopt;
}

}  // namespace tollgate::engine
