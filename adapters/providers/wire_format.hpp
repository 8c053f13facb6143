// tollgate::adapters — what a provider wire format must do so the shared
// HTTP provider can speak it: encode a request, decode a whole answer,
// translate stream events into OpenAI chunks, and classify error answers.
//
// Everything is translated at this boundary: above it, requests, answers
// and deltas are the OpenAI chat-completions shapes.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/providers/answer_scan.hpp"
#include "adapters/providers/provider.hpp"

namespace tollgate::adapters {

class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  enum class Step { more, done };
  // Translates one SSE event into zero or more "chat.completion.chunk"
  // objects appended to `out`. `done` after the format's final event; a
  // Failure for an error event or data that does not parse.
  virtual std::variant<Step, Failure> on_event(std::string_view event, std::string_view data,
                                               std::vector<nlohmann::json>& out) = 0;
};

class WireFormat {
 public:
  virtual ~WireFormat() = default;
  // Appended to the base URL's path: "/chat/completions", "/messages".
  virtual std::string_view path() const = 0;
  // The request bytes for `model`; an Error (bad_request) when the body
  // cannot be expressed in this format.
  virtual Expected<std::string> encode(const nlohmann::json& body, std::string_view model,
                                     bool stream) const = 0;
  // A successful non-streamed answer as a "chat.completion" object.
  virtual std::variant<nlohmann::json, Failure> decode(std::string_view body) const = 0;
  // decode() only parses: the answer's bytes are already the JSON text of
  // what it returns (true for the OpenAI format, not for a translated one).
  virtual bool decodes_verbatim() const = 0;
  // A verbatim format's usage and finish reason read off the answer's
  // bytes without parsing them into a tree (see answer_scan.hpp), for a
  // caller that passes the bytes on. nullopt: no facts this way (always, for
  // a translated format); decode() then gives the answer or the failure.
  virtual std::optional<AnswerFacts> scan(std::string_view body) const = 0;
  virtual std::unique_ptr<StreamDecoder> stream_decoder() const = 0;
  // A non-2xx answer: the provider's message out of its error body.
  virtual Failure classify(int status, std::string_view body,
                           std::optional<std::chrono::milliseconds> retry_after) const = 0;
};

std::unique_ptr<WireFormat> make_openai_format();
std::unique_ptr<WireFormat> make_anthropic_format(int64_t default_max_tokens);

// A token count field of a usage object: an integer in [0, 2^40] (a
// trillion tokens), else 0 or the bound. Providers' numbers feed billing: a
// negative count must not credit a budget, nor a huge one overflow a sum.
int64_t token_count_at(const nlohmann::json& usage, std::string_view key);
// The same bounds on a number already read.
int64_t bounded_token_count(int64_t n);
int64_t bounded_token_count(uint64_t n);

// Usage and finish reason out of a "chat.completion" object (also reads
// DeepSeek's prompt_cache_hit_tokens).
Usage usage_of(const nlohmann::json& completion);
std::string finish_reason_of(const nlohmann::json& completion);
// The answer's text: every choice's message strings (content, reasoning,
// refusal, ...) and tool calls' names and arguments. What a provider that
// reported no usage is charged for, by estimate.
std::string answer_text(const nlohmann::json& completion);
// Its two parts, for one message and for one tool call, appended to `out`
// (CompletionAssembler uses them on a stream's parts).
void append_message_text(const nlohmann::json& message, std::string& out);
void append_tool_call_text(const nlohmann::json& call, std::string& out);

// The failure for an HTTP status and the provider's own error message and
// code/type (both may be empty): context-length errors are recognised by
// code or by the wording providers use.
Failure classify_status(int status, std::string message, std::string_view code,
                        std::optional<std::chrono::milliseconds> retry_after);

// A message for a body that is not the expected JSON, quoting its start.
std::string quote_body(std::string_view body);

}  // namespace tollgate::adapters
