// The OpenAI chat-completions wire format, which OpenAI, DeepSeek, Qwen
// (compatible mode), GLM, Kimi, aggregators, vLLM and Ollama all speak.
// Requests pass through unchanged except model, stream and
// stream_options.include_usage (so a streamed answer still reports usage).
#include "adapters/json/json_parse.hpp"
#include "adapters/json/json_write.hpp"
#include "adapters/providers/wire_format.hpp"

#include <algorithm>

namespace tollgate::adapters {

namespace {

using nlohmann::json;

// {"error": {"message": ..., "type": ..., "code": ...}}, or a bare string.
std::pair<std::string, std::string> error_fields(const json& j) {
  auto e = j.find("error");
  if (e == j.end()) return {};
  if (e->is_string()) return {e->get<std::string>(), ""};
  if (!e->is_object()) return {};
  // Fields of another type read as absent: value() would throw them.
  auto string_field = [&](std::string_view key) {
    auto it = e->find(key);
    return it != e->end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  std::string code = string_field("code");
  if (code.empty()) code = string_field("type");
  return {string_field("message"), code};
}

class OpenAiStream final : public StreamDecoder {
 public:
  std::variant<Step, Failure> on_event(std::string_view, std::string_view data,
                                       std::vector<json>& out) override {
    if (data == "[DONE]") return Step::done;
    json chunk = parse_json(data);
    if (chunk.is_discarded() || !chunk.is_object()) {
      Failure f;
      f.kind = FailureKind::malformed;
      f.message = "stream chunk is not JSON (or nests deeper than " + std::to_string(kMaxJsonDepth) + " levels): " + quote_body(data);
      return f;
    }
    if (chunk.contains("error")) {  // an error reported mid-stream
      auto [message, code] = error_fields(chunk);
      Failure f = classify_status(500, std::move(message), code, std::nullopt);
      f.http_status = 0;
      return f;
    }
    out.push_back(std::move(chunk));
    return Step::more;
  }
};

class OpenAiFormat final : public WireFormat {
 public:
  std::string_view path() const override { return "/chat/completions"; }

  Expected<std::string> encode(const json& body, std::string_view model, bool stream) const override {
    if (!body.is_object()) {
      return Unexpected("the request body must be a JSON object");
    }
    // Written field by field so the caller's body is never copied.
    std::string out = "{\"model\":";
    JsonWriter writer(out);
    writer.string(model);
    if (stream) {
      json options = json::object();
      if (auto so = body.find("stream_options"); so != body.end() && so->is_object()) options = *so;
      options["include_usage"] = true;
      out += ",\"stream\":true,\"stream_options\":";
      writer.value(options);
    }
    for (const auto& [key, value] : body.get_ref<const json::object_t&>()) {
      if (key == "model" || key == "stream" || key == "stream_options") continue;
      out += ',';
      writer.string(key);
      out += ':';
      writer.value(value);
    }
    out += '}';
    return out;
  }

  std::variant<json, Failure> decode(std::string_view body) const override {
    json j = parse_json(body);
    if (j.is_discarded() || !j.is_object()) {
      Failure f;
      f.kind = FailureKind::malformed;
      f.message = "answer is not JSON (or nests deeper than " + std::to_string(kMaxJsonDepth) + " levels): " + quote_body(body);
      return f;
    }
    if (j.contains("error")) {
      auto [message, code] = error_fields(j);
      Failure f = classify_status(500, std::move(message), code, std::nullopt);
      f.http_status = 200;
      return f;
    }
    if (!j.contains("choices") || !j["choices"].is_array()) {
      Failure f;
      f.kind = FailureKind::malformed;
      f.message = "answer has no \"choices\" array: " + quote_body(body);
      return f;
    }
    return j;
  }

  bool decodes_verbatim() const override { return true; }

  std::optional<AnswerFacts> scan(std::string_view body) const override { return scan_completion(body); }

  std::unique_ptr<StreamDecoder> stream_decoder() const override {
    return std::make_unique<OpenAiStream>();
  }

  Failure classify(int status, std::string_view body,
                   std::optional<std::chrono::milliseconds> retry_after) const override {
    json j = parse_json(body);
    auto [message, code] = j.is_object() ? error_fields(j) : std::pair<std::string, std::string>{};
    if (message.empty() && !body.empty()) message = quote_body(body);
    return classify_status(status, std::move(message), code, retry_after);
  }
};

}  // namespace

namespace {
constexpr int64_t kMaxCount = int64_t{1} << 40;
}  // namespace

int64_t bounded_token_count(int64_t n) { return std::clamp<int64_t>(n, 0, kMaxCount); }
int64_t bounded_token_count(uint64_t n) { return static_cast<int64_t>(std::min<uint64_t>(n, kMaxCount)); }

int64_t token_count_at(const json& usage, std::string_view key) {
  auto it = usage.find(key);
  if (it == usage.end()) return 0;
  if (it->is_number_unsigned()) return bounded_token_count(it->get<uint64_t>());
  if (it->is_number_integer()) return bounded_token_count(it->get<int64_t>());
  return 0;
}

std::unique_ptr<WireFormat> make_openai_format() { return std::make_unique<OpenAiFormat>(); }

Usage usage_of(const json& completion) {
  Usage u;
  auto it = completion.find("usage");
  if (it == completion.end() || !it->is_object()) return u;
  u.input_tokens = token_count_at(*it, "prompt_tokens");
  u.output_tokens = token_count_at(*it, "completion_tokens");
  if (auto d = it->find("prompt_tokens_details"); d != it->end() && d->is_object()) {
    u.cached_input_tokens = token_count_at(*d, "cached_tokens");
  }
  if (u.cached_input_tokens == 0) u.cached_input_tokens = token_count_at(*it, "prompt_cache_hit_tokens");
  return u;
}

void append_message_text(const json& message, std::string& out) {
  if (!message.is_object()) return;
  for (const auto& [key, value] : message.items())
    if (key != "role" && value.is_string()) out += value.get_ref<const std::string&>();
}

void append_tool_call_text(const json& call, std::string& out) {
  auto fn = call.is_object() ? call.find("function") : call.end();
  if (fn == call.end() || !fn->is_object()) return;
  for (const char* key : {"name", "arguments"})
    if (auto v = fn->find(key); v != fn->end() && v->is_string()) out += v->get_ref<const std::string&>();
}

std::string answer_text(const json& completion) {
  std::string text;
  auto choices = completion.find("choices");
  if (choices == completion.end() || !choices->is_array()) return text;
  for (const auto& choice : *choices) {
    auto message = choice.is_object() ? choice.find("message") : choice.end();
    if (message == choice.end()) continue;
    append_message_text(*message, text);
    if (!message->is_object()) continue;
    auto calls = message->find("tool_calls");
    if (calls == message->end() || !calls->is_array()) continue;
    for (const auto& call : *calls) append_tool_call_text(call, text);
  }
  return text;
}

std::string finish_reason_of(const json& completion) {
  auto choices = completion.find("choices");
  if (choices == completion.end() || !choices->is_array() || choices->empty()) return {};
  const json& first = choices->front();
  auto fr = first.find("finish_reason");
  return fr != first.end() && fr->is_string() ? fr->get<std::string>() : std::string();
}

}  // namespace tollgate::adapters
