// tollgate::adapters — one interface over every LLM provider API.
//
// A Provider sends one chat request in the OpenAI chat-completions shape and
// answers in the same shape, whatever its wire format (OpenAI-compatible or
// Anthropic Messages): callers never see the difference. Failures come back
// classified once, here, so dispatch can decide retry / fallback / fail.
//
// Internal to tollgate (not installed). No Beast type appears here.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json.hpp>

#include "adapters/http/cancel.hpp"
#include "adapters/http/connection_options.hpp"
#include "adapters/expected.hpp"

namespace tollgate::adapters {

enum class ApiKind : uint8_t {
  openai,     // POST {base_url}/chat/completions (OpenAI, DeepSeek, Qwen, GLM, Kimi, vLLM, Ollama...)
  anthropic,  // POST {base_url}/messages (Anthropic Messages API)
};
std::string_view to_string(ApiKind api) noexcept;
// "openai" / "anthropic"; nullopt for anything else.
std::optional<ApiKind> api_kind_from_string(std::string_view name) noexcept;

// One provider endpoint. Every field has a default that works for a public
// HTTPS API; local providers only need `base_url`.
struct ProviderConfig {
  // Name used in errors, attempt records and circuit breakers ("deepseek").
  std::string name;
  ApiKind api = ApiKind::openai;
  // Scheme, host, optional port and path prefix: "https://api.deepseek.com/v1",
  // "http://127.0.0.1:11434/v1". "http" is allowed (local providers).
  std::string base_url;
  // The secret. Sent only as the auth header; never logged, put in an error
  // message, traced or cached (provider messages that echo it are redacted).
  std::string api_key;
  // When api_key is empty: the environment variable holding it, read once by
  // make_provider(). Empty both: no auth header (vLLM, Ollama, the mock).
  std::string api_key_env;
  // Extra request headers, sent as given ("OpenAI-Organization", "HTTP-Referer").
  std::vector<std::pair<std::string, std::string>> headers;

  // Pool size, deadlines, TLS verification, response size limit.
  ConnectionOptions connection;

  // Anthropic requires max_tokens; used when the request has neither
  // max_tokens nor max_completion_tokens.
  int64_t anthropic_default_max_tokens = 4096;
  std::string anthropic_version = "2023-06-01";
};

// Token counts of one answer. input_tokens counts every prompt token,
// cached ones included; cached_input_tokens is the part served from the
// provider's prompt cache (billed at the cached price). Anthropic reports
// them apart; the adapter adds them up so both APIs mean the same thing.
struct Usage {
  int64_t input_tokens = 0;
  int64_t cached_input_tokens = 0;
  int64_t output_tokens = 0;
};

struct ChatResponse {
  // An OpenAI "chat.completion" object (assembled from the deltas when
  // streamed). Fields the adapter does not know are kept.
  nlohmann::json body;
  // Not streamed, and the provider speaks the OpenAI format: the answer's
  // bytes as they came, of which `body` is the parse (so a gateway can
  // send them on instead of serializing `body` again). Empty otherwise.
  // Asked for as AnswerForm::text, `body` is then left null.
  std::string body_text;
  Usage usage;
  std::string finish_reason;  // "stop", "length", "tool_calls", "content_filter"
  std::chrono::milliseconds latency{0};
  // Streaming: until the first delta with content. Otherwise: until the
  // response headers (the closest a non-streamed answer has).
  std::chrono::milliseconds time_to_first_token{0};
};

enum class FailureKind : uint8_t {
  retryable,       // 429, 5xx, connection refused/reset: try again, or elsewhere
  timeout,         // a deadline passed (retryable)
  truncated,       // the body or stream ended before it was complete (retryable)
  malformed,       // the answer did not parse as the wire format says (retryable)
  context_length,  // the input does not fit this model: a larger window may
  request,         // 400/404/422 about the request itself: fail at once
  auth,            // 401/403: the key is missing, wrong or not allowed: fail at once
  cancelled,       // the caller cancelled
  config,          // the provider is misconfigured (bad base_url, CA file)
};
std::string_view to_string(FailureKind kind) noexcept;
// Whether another attempt (same or another candidate) may succeed.
bool is_retryable(FailureKind kind) noexcept;

struct Failure {
  FailureKind kind = FailureKind::retryable;
  int http_status = 0;  // 0: no HTTP status (transport failure)
  // The provider's Retry-After (429/503), when it sent one.
  std::optional<std::chrono::milliseconds> retry_after;
  // The provider's own message when it sent one ("Rate limit reached for
  // ..."), else what the transport saw ("connection refused"). Never the key.
  std::string message;
  // A stream had already passed deltas to the caller: it must not be
  // restarted silently elsewhere.
  bool deltas_delivered = false;
  // A stream that failed (or was cancelled) after part of the answer
  // arrived: that part's text, every choice's content and tool-call
  // arguments. The provider generated, and bills, at least this much.
  std::string partial_output;
  // The connection failed (a timeout, a cancel, a cut) after the provider
  // had read the whole request: it may bill the prompt though no answer
  // came. False for an answer with an error status, and for a failure
  // before the request was out (connection refused, no free connection).
  bool request_sent = false;
  std::chrono::milliseconds latency{0};
};

using ChatResult = std::variant<ChatResponse, Failure>;

// What the caller needs of a non-streamed answer.
enum class AnswerForm : uint8_t {
  json,  // ChatResponse::body, parsed (and body_text when the format is verbatim)
  // body_text alone, when the format is verbatim (OpenAI): the answer is
  // checked and its usage and finish reason read without building `body`,
  // which stays null. A translated format, or a stream, still fills `body`.
  text,
};

// Receives each streamed delta: an OpenAI "chat.completion.chunk" object
// (Anthropic events are translated into the same shape). Runs on the
// connection's strand; keep it short, do not block.
using DeltaFn = std::function<void(const nlohmann::json& chunk)>;
// Receives the outcome, exactly once, never inline within async_chat().
using DoneFn = std::function<void(ChatResult result)>;

// Thread-safety: async_chat may be called from any thread at once.
class Provider {
 public:
  virtual ~Provider() = default;
  Provider(const Provider&) = delete;
  Provider& operator=(const Provider&) = delete;

  virtual const std::string& name() const noexcept = 0;
  virtual ApiKind api() const noexcept = 0;

  // Sends `body` (OpenAI chat-completions shape; its "model" and "stream"
  // are replaced by `model` and `stream`) and reports through `done`. The
  // body is encoded before async_chat returns: it need not outlive the call.
  // With stream = true, on_delta (if set) receives every chunk as it
  // arrives, and usage is requested in the final chunk. `cancel` (may be
  // null) ends the upstream request and closes its connection.
  virtual void async_chat(const nlohmann::json& body, std::string_view model, bool stream,
                          AnswerForm form, DeltaFn on_delta, std::shared_ptr<CancelSignal> cancel,
                          DoneFn done) = 0;

  // Connections open now (in use or idle), for tests and health displays.
  virtual std::size_t open_connections() const = 0;

 protected:
  Provider() = default;
};

// Builds the adapter for config.api. Fails (a config error to the engine)
// on an invalid base_url, an unreadable CA file, or an api_key_env that is
// not set. Handlers run on `executor`, through one strand per connection.
Expected<std::shared_ptr<Provider>> make_provider(boost::asio::any_io_executor executor,
                                                  ProviderConfig config);

}  // namespace tollgate::adapters
