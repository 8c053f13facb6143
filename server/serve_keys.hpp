// `tollgate serve`: the API keys a gateway accepts, each mapped to the team
// (and optionally the user) that pays for its requests. The team comes from
// the key alone, never from the request, so a caller cannot bill another
// team.
//
// KEYS.json:
//   {"keys": [
//     {"key": "tg-support-7f3a", "team": "support", "user": "helpdesk-bot"},
//     {"key": "tg-finance-admin", "team": "finance", "admin": true}
//   ]}
// `admin` keys may read any team's spend (GET /v1/spend?team=...). Keys are
// never printed: errors name an entry by its index.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json_fwd.hpp>

#include "tollgate/error.hpp"

namespace tollgate::tools {

struct KeyInfo {
  std::string team;
  std::string user;  // empty: the request's own `user` field, if any
  bool admin = false;
};

class KeyTable {
 public:
  static Result<KeyTable> from_json(const nlohmann::json& doc, const std::string& origin);
  static Result<KeyTable> load(const std::string& path);

  // The key behind an `Authorization: Bearer <key>` header; null when the
  // header is missing, malformed, or names no key.
  const KeyInfo* find_bearer(std::string_view authorization) const;
  std::size_t size() const { return keys_.size(); }

 private:
  std::unordered_map<std::string, KeyInfo> keys_;
};

}  // namespace tollgate::tools
