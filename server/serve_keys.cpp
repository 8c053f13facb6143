#include "server/serve_keys.hpp"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace tollgate::tools {

Result<KeyTable> KeyTable::from_json(const nlohmann::json& doc, const std::string& origin) {
  auto bad = [&](const std::string& m) { return Error(ErrorCategory::config, origin + ": " + m); };
  if (!doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array())
    return bad(R"(expected {"keys": [{"key": "...", "team": "..."}, ...]})");
  KeyTable table;
  const auto& list = doc["keys"];
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& e = list[i];
    const std::string where = "keys[" + std::to_string(i) + "]";
    if (!e.is_object()) return bad(where + ": an entry is an object");
    const auto key = e.find("key");
    const auto team = e.find("team");
    if (key == e.end() || !key->is_string() || key->get_ref<const std::string&>().size() < 8)
      return bad(where + ": \"key\" must be a string of at least 8 characters");
    if (team == e.end() || !team->is_string() || team->get_ref<const std::string&>().empty())
      return bad(where + ": \"team\" must be a non-empty string");
    KeyInfo info;
    info.team = team->get<std::string>();
    if (auto u = e.find("user"); u != e.end()) {
      if (!u->is_string()) return bad(where + ": \"user\" must be a string");
      info.user = u->get<std::string>();
    }
    if (auto a = e.find("admin"); a != e.end()) {
      if (!a->is_boolean()) return bad(where + ": \"admin\" must be true or false");
      info.admin = a->get<bool>();
    }
    // The duplicate's index, not the key, goes in the message.
    if (!table.keys_.emplace(key->get<std::string>(), std::move(info)).second)
      return bad(where + ": the same key is listed twice");
  }
  if (table.keys_.empty()) return bad("no keys: every request would be refused");
  return table;
}

Result<KeyTable> KeyTable::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCategory::config, path + ": cannot read the keys file");
  std::stringstream ss;
  ss << in.rdbuf();
  const auto doc = nlohmann::json::parse(ss.str(), nullptr, false);
  if (doc.is_discarded()) return Error(ErrorCategory::config, path + ": not valid JSON");
  return from_json(doc, path);
}

const KeyInfo* KeyTable::find_bearer(std::string_view authorization) const {
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() || authorization.substr(0, kBearer.size()) != kBearer) return nullptr;
  auto it = keys_.find(std::string(authorization.substr(kBearer.size())));
  return it == keys_.end() ? nullptr : &it->second;
}

}  // namespace tollgate::tools
