// Failure classification shared by every wire format: one place decides
// what an HTTP status and a provider's error wording mean for dispatch.
#include <algorithm>
#include <array>
#include <cctype>

#include "adapters/providers/provider.hpp"
#include "adapters/providers/wire_format.hpp"

namespace tollgate::adapters {

std::string_view to_string(FailureKind kind) noexcept {
  switch (kind) {
    case FailureKind::retryable: return "retryable";
    case FailureKind::timeout: return "timeout";
    case FailureKind::truncated: return "truncated";
    case FailureKind::malformed: return "malformed";
    case FailureKind::context_length: return "context_length";
    case FailureKind::request: return "request";
    case FailureKind::auth: return "auth";
    case FailureKind::cancelled: return "cancelled";
    case FailureKind::config: return "config";
  }
  return "retryable";
}

bool is_retryable(FailureKind kind) noexcept {
  switch (kind) {
    case FailureKind::retryable:
    case FailureKind::timeout:
    case FailureKind::truncated:
    case FailureKind::malformed:
      return true;
    default:
      return false;
  }
}

namespace {

bool contains_nocase(std::string_view haystack, std::string_view needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                     [](char a, char b) {
                       return std::tolower(static_cast<unsigned char>(a)) ==
                              std::tolower(static_cast<unsigned char>(b));
                     }) != haystack.end();
}

// How providers say "the prompt does not fit": OpenAI and its clones
// ("maximum context length is"), vLLM, Anthropic ("prompt is too long"),
// Ollama, Qwen ("Range of input length"), Kimi ("exceeded model token limit").
bool says_context_length(std::string_view message, std::string_view code) {
  if (code == "context_length_exceeded" || code == "string_above_max_length") return true;
  static constexpr std::array<std::string_view, 8> kWordings = {
      "context length", "context_length", "maximum context", "context window",
      "prompt is too long", "input length", "token limit", "too many tokens"};
  return std::any_of(kWordings.begin(), kWordings.end(),
                     [&](std::string_view w) { return contains_nocase(message, w); });
}

}  // namespace

Failure classify_status(int status, std::string message, std::string_view code,
                        std::optional<std::chrono::milliseconds> retry_after) {
  Failure f;
  f.http_status = status;
  f.retry_after = retry_after;
  if (message.empty()) message = "HTTP " + std::to_string(status) + " with no error message";
  f.message = std::move(message);
  if (status == 429 || status == 408 || status >= 500) {
    f.kind = FailureKind::retryable;
  } else if (status == 401 || status == 403) {
    f.kind = FailureKind::auth;
  } else if ((status == 400 || status == 413 || status == 422) && says_context_length(f.message, code)) {
    f.kind = FailureKind::context_length;
  } else if (status == 413) {
    f.kind = FailureKind::context_length;  // the body itself is too large for this endpoint
  } else if (status >= 400) {
    f.kind = FailureKind::request;
  } else {
    f.kind = FailureKind::malformed;  // 1xx/3xx: not what a chat endpoint answers
    f.message = "unexpected HTTP " + std::to_string(status) + ": " + f.message;
  }
  return f;
}

std::string quote_body(std::string_view body) {
  constexpr std::size_t kMax = 200;
  std::string q(body.substr(0, kMax));
  for (char& ch : q) {
    if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
  }
  if (body.size() > kMax) q += "...";
  return "\"" + q + "\"";
}

}  // namespace tollgate::adapters
