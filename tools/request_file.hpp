// Reading a request from a JSON file for `explain`:
// an OpenAI chat-completions body plus "team", "user", "tags", and
// optionally "input_tokens".
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "tollgate/error.hpp"
#include "tollgate/request.hpp"

namespace tollgate::tools {

Result<Request> read_request_file(const std::string& path);
Result<Request> request_from_json(const nlohmann::json& j, const std::string& origin);

}  // namespace tollgate::tools
