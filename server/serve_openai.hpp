// `tollgate serve`: the OpenAI wire shapes the gateway reads and writes,
// kept apart from the HTTP plumbing so they are easy to test:
// a chat-completions body (plus the caller's key and headers) into a
// tollgate::Request, SSE framing, and the bodies of /v1/models and /v1/spend.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "server/gateway_server.hpp"
#include "tollgate/error.hpp"
#include "tollgate/request.hpp"
#include "tollgate/result.hpp"
#include "server/serve_keys.hpp"

namespace tollgate::tools {

// The Request for POST /v1/chat/completions. The team (and user, when the key
// names one) come from the key; tags from `x-tollgate-tags` and the body's
// `metadata` (removed from the body: providers would reject it); the id from
// `x-request-id`; cache controls from `x-tollgate-cache: no-cache, no-store,
// ttl=60`; a whole-request deadline from `x-tollgate-timeout-ms: 30000`
// (retries and fallbacks included; past it the answer is a 504). `model` may
// be anything: the policy chooses. Fails with a bad_request for a body that
// is not a chat-completions object.
Result<Request> chat_request(const adapters::HttpRequest& http, const KeyInfo& key);

// POST /v1/quality: {"request_id": "...", "score": 0.9, "source": "thumbs"}
// scores an answer (see Engine::record_quality). `source` is optional
// (default "api"). Fails with a bad_request naming the field at fault.
struct QualityScore {
  std::string request_id;
  double score = 0;
  std::string source;
};
Result<QualityScore> quality_request(const adapters::HttpRequest& http);

// One SSE event: "data: <json>\n\n".
std::string sse_data(const nlohmann::json& chunk);
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

// The final usage chunk OpenAI sends when include_usage is set.
// `estimated`: the provider reported no usage, so the figures are
// tollgate's estimate (what the request was charged); the usage object then
// says so with "tollgate_estimated": true, as the ledger row's note does.
nlohmann::json usage_chunk(const Response& response, std::string_view id, bool estimated = false);

// GET /v1/models: {"object": "list", "data": [{"id", "object": "model",
// "created": 0, "owned_by": <provider>}]}.
struct RoutableModel {
  std::string id, provider;
};
nlohmann::json models_body(const std::vector<RoutableModel>& models);

// GET /v1/spend: one team's windows.
nlohmann::json spend_body(std::string_view team, const std::vector<SpendView>& views);

// A query parameter, percent-decoded; empty when absent.
std::string query_param(std::string_view query, std::string_view name);

}  // namespace tollgate::tools
