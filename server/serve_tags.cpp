#include "server/serve_tags.hpp"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

namespace tollgate::tools {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool valid_key(std::string_view k) {
  return !k.empty() && k.size() <= kMaxTagKey && std::all_of(k.begin(), k.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '_' || c == '-' || c == '.';
         });
}

Error bad(const std::string& m) { return Error(ErrorCategory::bad_request, m); }

Result<void> add(Tags& tags, std::string_view key, std::string value, std::string_view source) {
  if (!valid_key(key))
    return bad(std::string(source) + ": tag names are 1-" + std::to_string(kMaxTagKey) +
               " letters, digits, '_', '-' or '.'");
  if (value.size() > kMaxTagValue)
    return bad(std::string(source) + ": tag '" + std::string(key) + "' is longer than " +
               std::to_string(kMaxTagValue) + " bytes");
  tags.insert_or_assign(std::string(key), std::move(value));
  if (tags.size() > kMaxTags) return bad(std::string(source) + ": more than " + std::to_string(kMaxTags) + " tags");
  return {};
}

}  // namespace

Result<void> parse_tags_header(std::string_view header, Tags& tags) {
  while (!header.empty()) {
    const auto comma = header.find(',');
    const std::string_view item = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) return bad("x-tollgate-tags: '" + std::string(item.substr(0, kMaxTagKey)) + "' is not key=value");
    if (auto r = add(tags, trim(item.substr(0, eq)), std::string(trim(item.substr(eq + 1))), "x-tollgate-tags"); !r.ok())
      return r;
  }
  return {};
}

Result<void> tags_from_metadata(const nlohmann::json& metadata, Tags& tags) {
  if (metadata.is_null()) return {};
  if (!metadata.is_object()) return bad("metadata: must be an object of strings");
  for (const auto& [k, v] : metadata.items()) {
    std::string value;
    if (v.is_string()) value = v.get<std::string>();
    else if (v.is_number() || v.is_boolean()) value = v.dump();
    else return bad("metadata: '" + k.substr(0, kMaxTagKey) + "' must be a string");
    if (auto r = add(tags, k, std::move(value), "metadata"); !r.ok()) return r;
  }
  return {};
}

}  // namespace tollgate::tools
