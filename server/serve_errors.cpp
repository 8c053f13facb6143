#include "server/serve_errors.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace tollgate::tools {

ApiError api_error_from(const Error& e) {
  std::string message(e.summary());
  if (message.size() < e.message().size()) message += " (the policy's own words are in the gateway's log)";
  switch (e.category()) {
    case ErrorCategory::bad_request: return {400, "invalid_request_error", "invalid_request", std::move(message)};
    // A policy that cannot route this request fails the same way on every
    // retry, so it is a 4xx (clients retry 5xx by default).
    case ErrorCategory::policy: return {422, "invalid_request_error", "policy_error", std::move(message)};
    case ErrorCategory::budget: return {429, "insufficient_quota", "budget_exceeded", std::move(message)};
    case ErrorCategory::provider: return {502, "api_error", "upstream_error", std::move(message)};
    case ErrorCategory::timeout: return {504, "api_error", "upstream_timeout", std::move(message)};
    case ErrorCategory::cancelled: return {499, "api_error", "cancelled", std::move(message)};
    case ErrorCategory::ledger: return {503, "api_error", "ledger_unavailable", std::move(message)};
    case ErrorCategory::config: return {500, "server_error", "config_error", std::move(message)};
    // An upstream outage the breakers are waiting out: the client's retry,
    // after the wait, is what should happen (the SDKs retry a 503).
    case ErrorCategory::unavailable:
      return {503, "api_error", "providers_cooling_down", std::move(message),
              std::max<int64_t>(1, (e.retry_after_ms() + 999) / 1000)};
    case ErrorCategory::internal: break;
  }
  return {500, "server_error", "internal_error", std::move(message)};
}

ApiError invalid_api_key() {
  // OpenAI's wording; the key itself is never echoed.
  return {401, "invalid_request_error", "invalid_api_key",
          "Incorrect API key provided. Send 'Authorization: Bearer <key>' with a key from the gateway's keys file."};
}

ApiError bad_request(std::string message) { return {400, "invalid_request_error", "invalid_request", std::move(message)}; }

ApiError not_found(std::string_view path) {
  return {404, "invalid_request_error", "not_found",
          "Unknown endpoint " + std::string(path.substr(0, 200)) +
              "; this gateway serves POST /v1/chat/completions, POST /v1/quality, GET /v1/models, GET /v1/spend, GET /metrics, GET /healthz"};
}

ApiError method_not_allowed(std::string_view method) {
  return {405, "invalid_request_error", "method_not_allowed", "Method " + std::string(method.substr(0, 20)) + " is not allowed here"};
}

ApiError forbidden(std::string message) { return {403, "permission_error", "forbidden", std::move(message)}; }

std::string error_body(const ApiError& e) {
  nlohmann::json j = {{"error",
                       {{"message", e.message},
                        {"type", e.type},
                        {"param", nullptr},
                        {"code", e.code.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.code)}}}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

adapters::HttpResponse error_response(const ApiError& e) {
  adapters::HttpResponse r{e.status, "application/json", {}, error_body(e)};
  if (e.status == 429 || e.status == 422) r.headers.emplace_back("x-should-retry", "false");
  if (e.retry_after_s > 0) r.headers.emplace_back("retry-after", std::to_string(e.retry_after_s));
  return r;
}

adapters::HttpResponse transport_error_response(int status, std::string_view message) {
  const bool server_side = status >= 500;
  return error_response({status, server_side ? "api_error" : "invalid_request_error",
                         status == 504 ? "upstream_timeout" : status == 503 ? "overloaded" : "invalid_request",
                         std::string(message)});
}

}  // namespace tollgate::tools
