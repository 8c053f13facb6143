#include "engine/json_depth.hpp"

#include <nlohmann/json.hpp>

namespace tollgate::engine {

bool nested_deeper_than(const nlohmann::json& value, int limit) noexcept try {
  if (!value.is_structured()) return false;
  if (limit <= 0) return true;
  for (const auto& child : value) {
    if (nested_deeper_than(child, limit - 1)) return true;
  }
  return false;
} catch (...) {
  // Iterating an array or object does not throw; were it ever to, refusing
  // the body is the safe answer.
  return true;
}

}  // namespace tollgate::engine
