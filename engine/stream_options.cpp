#include "engine/stream_options.hpp"

#include <nlohmann/json.hpp>

namespace tollgate::engine {

std::optional<std::string> stream_options_problem(const nlohmann::json& body) {
  auto so = body.find("stream_options");
  if (so == body.end() || so->is_null()) return std::nullopt;
  if (!so->is_object()) return "'stream_options' must be an object";
  auto iu = so->find("include_usage");
  if (iu != so->end() && !iu->is_boolean() && !iu->is_null())
    return "'stream_options.include_usage' must be true or false";
  return std::nullopt;
}

bool wants_stream_usage(const Request& request) {
  auto so = request.body.find("stream_options");
  if (so == request.body.end() || !so->is_object()) return false;
  auto iu = so->find("include_usage");
  return iu != so->end() && iu->is_boolean() && iu->get<bool>();
}

}  // namespace tollgate::engine
