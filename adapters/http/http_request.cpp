// HttpRequest's accessors, apart from the Beast server in gateway_server.cpp
// so code that only reads requests (server/serve_openai.cpp, the fuzz
// targets) links without Asio and Beast.
#include "server/gateway_server.hpp"

namespace tollgate::adapters {

std::string_view HttpRequest::header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return v;
  return {};
}

std::string_view HttpRequest::path() const {
  const std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::string_view HttpRequest::query() const {
  const auto q = target.find('?');
  return q == std::string::npos ? std::string_view{} : std::string_view(target).substr(q + 1);
}

}  // namespace tollgate::adapters
