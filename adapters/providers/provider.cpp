#include "adapters/providers/provider.hpp"

namespace tollgate::adapters {

std::string_view to_string(ApiKind api) noexcept {
  switch (api) {
    case ApiKind::openai: return "openai";
    case ApiKind::anthropic: return "anthropic";
  }
  return "openai";
}

std::optional<ApiKind> api_kind_from_string(std::string_view name) noexcept {
  if (name == "openai") return ApiKind::openai;
  if (name == "anthropic") return ApiKind::anthropic;
  return std::nullopt;
}

}  // namespace tollgate::adapters
