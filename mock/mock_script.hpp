// tollgate::adapters — what the mock provider does for a request: its
// scripted behaviour per model (reply, pace, faults), and the exact bytes it
// answers with in either wire format (JSON bodies, SSE events, usage, error
// bodies). Kept apart from the server so it is cheap to compile and test.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/providers/provider.hpp"
#include "adapters/expected.hpp"

namespace tollgate::adapters {

enum class MockFault : uint8_t {
  none,
  rate_limit,      // 429 with Retry-After
  server_error,    // 500
  unavailable,     // 503 with Retry-After
  hang,            // read the request, never answer (until the client leaves)
  reset,           // read the request, reset the connection (TCP RST)
  truncate,        // stream `truncate_after` deltas, then cut the connection
  malformed,       // 200 with a body (or stream event) that is not JSON
  context_length,  // 400, the provider's "context length exceeded" error
  bad_request,     // 400, an ordinary request error
  unauthorized,    // 401
  deep,            // 200 with an answer (or stream event) nested 100,000 levels deep
};
std::string_view to_string(MockFault f) noexcept;
std::optional<MockFault> mock_fault_from_string(std::string_view name) noexcept;

struct MockBehavior {
  // The answer's text. Empty: "Mock answer from <model> to: <the start of
  // the last user message>".
  std::string reply{};
  // Wait before the response headers (queueing + prefill).
  std::chrono::milliseconds latency{0};
  // Streaming pace; 0 = every delta at once.
  double tokens_per_second = 0;
  MockFault fault = MockFault::none;
  // The fault applies to the first N calls for the model, then it answers
  // normally (a 429 once, then success). -1: every call.
  int64_t fail_times = -1;
  std::chrono::seconds retry_after{1};  // rate_limit / unavailable
  // > 0: prompts estimated above it get the context-length error.
  int64_t context_window = 0;
  // Prompt tokens reported as served from the provider's cache.
  int64_t cached_tokens = 0;
  // OpenAI format: report no usage at all, as some OpenAI-compatible
  // servers do (script key no_usage=1).
  bool omit_usage = false;
  // truncate: deltas sent before the connection is cut.
  int64_t truncate_after = 2;
  // Non-empty: answer with one call of this tool instead of text.
  std::string tool_name{};
  std::string tool_arguments = "{}";
  // Random faults, for soak tests: each call that `fault` leaves healthy
  // fails with probability `fault_rate`, its kind drawn evenly from
  // `random_faults` (empty: every kind). Draws are a pure function of
  // (fault_seed, the call's serial number), so a seed replays a run's mix.
  double fault_rate = 0;
  std::vector<MockFault> random_faults{};
  uint64_t fault_seed = 1;
};
inline constexpr std::size_t kMockFaultKinds = static_cast<std::size_t>(MockFault::deep) + 1;

// Applies "key=value;key=value" overrides (the x-mock-script header and the
// --script flag): reply, latency_ms, tps, fault, fail_times, retry_after_s,
// context_window, cached_tokens, truncate_after, no_usage, tool, tool_args,
// fault_rate, faults (kinds separated by ','), fault_seed.
Expected<void> apply_mock_script(std::string_view spec, MockBehavior& behavior);
// The same keys as a JSON object (tollgate-mock's --config file).
Expected<void> apply_mock_json(const nlohmann::json& spec, MockBehavior& behavior);

// Every script key with what it does, and every fault kind: the part of
// `tollgate-mock --help` a user of the mock reads to script it.
std::string mock_script_help();

// What the mock needs to know about a request.
struct MockRequest {
  ApiKind api = ApiKind::openai;
  std::string model;
  bool stream = false;
  bool include_usage = false;   // OpenAI stream_options.include_usage
  int64_t answers = 1;          // OpenAI "n": that many choices, each the same reply
  int64_t prompt_tokens = 0;    // estimated from the text, ~4 bytes a token
  int64_t max_tokens = 0;       // max_tokens / max_completion_tokens; 0: none
  std::string last_user_text;
};
// Fails with the message the mock puts in its 400 answer.
Expected<MockRequest> parse_mock_request(ApiKind api, std::string_view body);

// The fault this call gets: the scripted `fault` while its `fail_times`
// last (`nth` counts the model's calls since it was scripted), else a random
// one (see fault_rate; `serial` numbers the server's calls), and the
// context-length error for a prompt above `context_window` whatever else.
MockFault mock_fault_for(const MockBehavior& behavior, const MockRequest& request, int64_t nth,
                         uint64_t serial) noexcept;

// The answer, cut into the deltas a stream sends.
struct MockAnswer {
  std::string id;
  std::vector<std::string> pieces;  // text deltas; joined, the whole reply
  bool tool_call = false;
  std::string tool_name, tool_arguments;
  int64_t prompt_tokens = 0, cached_tokens = 0, completion_tokens = 0;
  bool omit_usage = false;  // OpenAI format: no usage in the answer or the stream
  bool cut_at_max = false;  // stopped at the request's max_tokens, as a provider does
};
MockAnswer make_mock_answer(const MockRequest& request, const MockBehavior& behavior,
                            std::string id);

// A whole answer body, in the request's wire format.
std::string render_mock_json(const MockRequest& request, const MockAnswer& answer);
// The SSE events of a streamed answer, each complete with its blank line:
// framing events, one per piece, framing events (and [DONE] for OpenAI).
std::vector<std::string> render_mock_sse(const MockRequest& request, const MockAnswer& answer);
// An error body in the wire format's shape; `code` is OpenAI's error code
// ("context_length_exceeded"), may be empty.
std::string render_mock_error(ApiKind api, int status, std::string_view code,
                              std::string_view message);
// How many events render_mock_sse emits before the first piece.
std::size_t first_piece_event(ApiKind api, const MockAnswer& answer);

// ~4 bytes of text a token, as providers' tokenizers average on English.
int64_t estimate_mock_tokens(std::size_t text_bytes);

}  // namespace tollgate::adapters
