// `tollgate serve`: errors in the OpenAI error format, with the HTTP status
// the official clients act on:
//   {"error": {"message": "...", "type": "...", "param": null, "code": "..."}}
// Statuses that must not be retried by a client (a budget refusal: it would
// only be refused again) carry `x-should-retry: false`, which the official
// SDKs honour.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "server/gateway_server.hpp"
#include "tollgate/error.hpp"

namespace tollgate::tools {

struct ApiError {
  int status = 500;
  std::string type;     // "invalid_request_error", "insufficient_quota", "api_error", ...
  std::string code;     // machine-readable; empty: null
  std::string message;  // for a person; never holds a key
  int64_t retry_after_s = 0;  // > 0: sent as Retry-After (whole seconds)
};

// The status and type for an engine error:
//   bad_request 400, policy 422, budget 429, provider 502, timeout 504,
//   cancelled 499, ledger 503, config/internal 500, and unavailable (every
//   candidate's circuit is open) 503 with a Retry-After of the breakers'
//   cooldown left, at least a second.
// The message is the error's summary(): text a policy's own code produced
// (its Lua errors, the routing trace) is for the gateway's log, never for
// the client, since a policy may have kept another team's prompt.
ApiError api_error_from(const Error& error);

ApiError invalid_api_key();                            // 401
ApiError bad_request(std::string message);             // 400
ApiError not_found(std::string_view path);             // 404
ApiError method_not_allowed(std::string_view method);  // 405
ApiError forbidden(std::string message);               // 403

std::string error_body(const ApiError& e);
adapters::HttpResponse error_response(const ApiError& e);
// For the transport's own answers (400, 413, 503, 504 ...).
adapters::HttpResponse transport_error_response(int status, std::string_view message);

}  // namespace tollgate::tools
