#include "tools/request_file.hpp"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace tollgate::tools {

Result<Request> request_from_json(const nlohmann::json& j, const std::string& origin) {
  auto bad = [&](const std::string& m) { return Error(ErrorCategory::bad_request, origin + ": " + m); };
  if (!j.is_object()) return bad("a request is a JSON object");
  Request r;
  r.body = j;
  auto take_string = [&](const char* key, std::string& out) -> bool {
    auto it = r.body.find(key);
    if (it == r.body.end()) return true;
    if (!it->is_string()) return false;
    out = it->get<std::string>();
    r.body.erase(it);
    return true;
  };
  if (!take_string("team", r.team)) return bad("\"team\" must be a string");
  if (!take_string("user", r.user)) return bad("\"user\" must be a string");
  if (auto t = r.body.find("tags"); t != r.body.end()) {
    if (!t->is_object()) return bad("\"tags\" must be an object of strings");
    for (auto& [k, v] : t->items()) r.tags[k] = v.is_string() ? v.get<std::string>() : v.dump();
    r.body.erase(t);
  }
  if (auto t = r.body.find("input_tokens"); t != r.body.end()) {
    if (!t->is_number_integer() || t->get<int64_t>() < 0) return bad("\"input_tokens\" must be a whole number, 0 or more");
    r.input_tokens = t->get<int64_t>();
    r.body.erase(t);
  }
  if (auto s = r.body.find("stream"); s != r.body.end() && s->is_boolean()) r.stream = s->get<bool>();
  return r;
}

Result<Request> read_request_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCategory::config, path + ": cannot read the request file");
  std::stringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) return Error(ErrorCategory::bad_request, path + ": not valid JSON");
  return request_from_json(j, path);
}

}  // namespace tollgate::tools
