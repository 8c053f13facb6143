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

bool text_nested_deeper_than(std::string_view json_text, int limit) noexcept {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < json_text.size(); ++i) {
    const char c = json_text[i];
    if (in_string) {
      if (c == '\\') ++i;  // the escaped character cannot end the string
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

}  // namespace tollgate::engine
