// tollgate — what an embedding service asks for.
//
// A Request says who is asking and what they want answered; it never names
// the model (the policy picks it). The body is the OpenAI chat-completions
// shape, kept as JSON so fields tollgate does not know (tools,
// response_format, vendor extensions) pass through to the provider unchanged.
//
// A Request is a plain value: copy it, move it, build it on any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace tollgate {

// Per-request cache controls (the route's `cache` rule decides the rest).
struct CacheControl {
  bool no_cache = false;          // do not answer from the cache (still stores)
  bool no_store = false;          // do not store this answer
  std::optional<int64_t> ttl_ms;  // store for this long instead of the route's ttl
};

struct Request {
  // Who pays. Required: caps, reports and cache scope are per team.
  std::string team;
  // Who asked, within the team (optional; per-user caps and reports).
  std::string user;
  // Free-form labels the policy routes on: {"task": "classify"}, {"pii": "true"}.
  std::map<std::string, std::string, std::less<>> tags;

  // {"messages": [...], "temperature": 0.2, "tools": [...], ...} in the
  // OpenAI chat-completions shape. "model" is ignored if present: the policy
  // chooses. "max_tokens" / "max_completion_tokens" are read from here when
  // the field below is unset.
  nlohmann::json body = nlohmann::json::object();

  // Most output tokens wanted. Unset: the body's max_tokens, else the chosen
  // model's max output (which is what a budget reservation then assumes).
  std::optional<int64_t> max_tokens;

  // Stream the answer as deltas (Engine::stream sets this itself).
  bool stream = false;
  // You need the answer's JSON text (Response::body_text), not its tree: a
  // gateway passing answers on. A non-streamed answer that came as text
  // (an OpenAI-format provider, or a cache hit) is then checked and its
  // usage read without parsing it into Response::body, which stays null;
  // any other answer (a stream, a translated Anthropic one) fills `body` as
  // usual. So: use body_text when it is not empty, else body.
  bool answer_as_text = false;

  CacheControl cache;

  // Your id for the request (it becomes Response::request_id and the
  // ledger's request id; record_quality takes it). Empty: tollgate makes one.
  // Give each request its own: a reused id loses nothing, but the later
  // request's ledger rows are stored as `<id>~<ms>.<n>`, and record_quality
  // scores the first request that had the id.
  std::string id;

  // The whole request, retries and fallbacks included, must finish within
  // this many milliseconds of the engine starting it. When it passes, the
  // attempt in flight (or the backoff, or the wait on an identical request)
  // is cancelled and the request fails with ErrorCategory::timeout; what the
  // attempts cost is still charged and recorded. A retry whose backoff (or
  // the provider's Retry-After) would outlast the deadline is not waited
  // for: the next candidate is tried at once. Unset: each attempt is
  // bounded only by its provider's timeouts. Must be positive.
  std::optional<int64_t> timeout_ms;

  // Known input size, for callers that have counted tokens already (and for
  // `tollgate simulate`, which replays token counts without text). Unset:
  // tollgate estimates from the messages (see docs/tokens.md).
  std::optional<int64_t> input_tokens;
};

}  // namespace tollgate
