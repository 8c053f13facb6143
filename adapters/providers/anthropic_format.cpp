// The Anthropic Messages wire format, translated to and from the OpenAI
// chat-completions shapes: system messages become the top-level system
// prompt, max_tokens is always sent (Anthropic requires it), content parts
// and tool calls become content blocks, tool results become tool_result
// blocks; answers, stop reasons, usage (cache reads included) and stream
// events come back as chat.completion / chat.completion.chunk objects.
#include <chrono>
#include <map>

#include "adapters/json/json_parse.hpp"
#include "adapters/providers/wire_format.hpp"

namespace tollgate::adapters {

namespace {

using nlohmann::json;

Unexpected bad(const std::string& message) {
  return Unexpected("cannot translate to Anthropic Messages: " + message);
}

// Reads that tolerate any shape: a missing field, a field of another type,
// or a value that is not an object at all read as absent (null, or the
// fallback). nlohmann's value() throws instead, and an exception must not
// escape an encoder or a decoder: bodies come from callers and providers.
const json& field(const json& obj, std::string_view key) {
  static const json kAbsent;
  if (!obj.is_object()) return kAbsent;
  auto it = obj.find(key);
  return it == obj.end() ? kAbsent : *it;
}

std::string string_at(const json& obj, std::string_view key, std::string fallback = {}) {
  const json& v = field(obj, key);
  return v.is_string() ? v.get<std::string>() : std::move(fallback);
}

// Text of an OpenAI content value: a string, or the text parts of an array.
std::string text_of(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string text;
  if (content.is_array()) {
    for (const auto& part : content) {
      if (part.is_object() && string_at(part, "type") == "text") {
        if (!text.empty()) text += "\n";
        text += string_at(part, "text");
      }
    }
  }
  return text;
}

// An OpenAI content part as an Anthropic content block.
Expected<json> block_of(const json& part) {
  if (part.is_string()) return json{{"type", "text"}, {"text", part}};
  if (!part.is_object()) return bad("a content part is not an object");
  const std::string type = string_at(part, "type");
  if (type == "image_url") {
    const json& image = field(part, "image_url");
    const std::string url = image.is_string() ? image.get<std::string>() : string_at(image, "url");
    if (url.starts_with("data:")) {  // data:image/png;base64,....
      const auto semi = url.find(";base64,");
      if (semi == std::string::npos) return bad("image data URL is not base64");
      return json{{"type", "image"},
                  {"source", {{"type", "base64"},
                              {"media_type", url.substr(5, semi - 5)},
                              {"data", url.substr(semi + 8)}}}};
    }
    return json{{"type", "image"}, {"source", {{"type", "url"}, {"url", url}}}};
  }
  // text (with cache_control if set), image, document, ...: the same shape.
  return part;
}

Expected<json> content_of(const json& content) {
  if (content.is_string() || content.is_null()) return content.is_null() ? json("") : content;
  if (!content.is_array()) return bad("message content must be a string or an array");
  json blocks = json::array();
  for (const auto& part : content) {
    auto b = block_of(part);
    if (!b) return Unexpected(b.error());
    blocks.push_back(std::move(*b));
  }
  return blocks;
}

Expected<json> assistant_message(const json& m) {
  json blocks = json::array();
  if (auto c = m.find("content"); c != m.end() && !c->is_null()) {
    if (c->is_string()) {
      if (!c->get_ref<const std::string&>().empty()) blocks.push_back({{"type", "text"}, {"text", *c}});
    } else {
      auto translated = content_of(*c);
      if (!translated) return Unexpected(translated.error());
      for (auto& b : *translated) blocks.push_back(std::move(b));
    }
  }
  if (auto calls = m.find("tool_calls"); calls != m.end() && calls->is_array()) {
    for (const auto& call : *calls) {
      const json& fn = field(call, "function");
      json input = parse_json(string_at(fn, "arguments", "{}"));
      if (input.is_discarded() || !input.is_object()) return bad("tool call arguments are not a JSON object");
      blocks.push_back({{"type", "tool_use"},
                        {"id", string_at(call, "id")},
                        {"name", string_at(fn, "name")},
                        {"input", std::move(input)}});
    }
  }
  return json{{"role", "assistant"}, {"content", std::move(blocks)}};
}

json tool_choice_of(const json& choice) {
  if (choice.is_string()) {
    const auto& s = choice.get_ref<const std::string&>();
    if (s == "required") return {{"type", "any"}};
    if (s == "none") return {{"type", "none"}};
    return {{"type", "auto"}};
  }
  if (choice.is_object() && choice.contains("function")) {
    return {{"type", "tool"}, {"name", string_at(field(choice, "function"), "name")}};
  }
  return {{"type", "auto"}};
}

std::string finish_reason(const json& stop_reason) {
  if (!stop_reason.is_string()) return "stop";
  const auto& s = stop_reason.get_ref<const std::string&>();
  if (s == "max_tokens") return "length";
  if (s == "tool_use") return "tool_calls";
  if (s == "refusal") return "content_filter";
  return "stop";  // end_turn, stop_sequence, pause_turn
}

int64_t int_at(const json& obj, std::string_view key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

// Anthropic counts cache reads and writes apart from input_tokens; the
// OpenAI shape counts every prompt token in prompt_tokens.
json usage_json(int64_t input, int64_t cache_read, int64_t cache_write, int64_t output) {
  const int64_t prompt = input + cache_read + cache_write;
  return {{"prompt_tokens", prompt},
          {"completion_tokens", output},
          {"total_tokens", prompt + output},
          {"prompt_tokens_details", {{"cached_tokens", cache_read}}}};
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Failure error_failure(int status, const json& body,
                      std::optional<std::chrono::milliseconds> retry_after) {
  const json& e = field(body, "error");
  std::string type = string_at(e, "type");
  std::string message = string_at(e, "message");
  if (status == 0) {  // an error event in a stream: its type tells the status
    status = type == "invalid_request_error" ? 400
           : type == "authentication_error" ? 401
           : type == "permission_error" ? 403
           : type == "rate_limit_error" ? 429
           : 529;  // overloaded_error, api_error
  }
  return classify_status(status, std::move(message), type, retry_after);
}

class AnthropicStream final : public StreamDecoder {
 public:
  std::variant<Step, Failure> on_event(std::string_view event, std::string_view data,
                                       std::vector<json>& out) override {
    if (event == "ping") return Step::more;
    json e = parse_json(data);
    if (e.is_discarded() || !e.is_object()) {
      Failure f;
      f.kind = FailureKind::malformed;
      f.message = "stream event is not JSON (or nests deeper than " + std::to_string(kMaxJsonDepth) + " levels): " + quote_body(data);
      return f;
    }
    const std::string type = string_at(e, "type", std::string(event));
    if (type == "error") {
      Failure f = error_failure(0, e, std::nullopt);
      f.http_status = 0;
      return f;
    }
    if (type == "message_start") {
      const json& m = field(e, "message");
      id_ = string_at(m, "id");
      model_ = string_at(m, "model");
      read_usage(field(m, "usage"));
      out.push_back(chunk({{"role", "assistant"}, {"content", ""}}));
    } else if (type == "content_block_start") {
      const json& b = field(e, "content_block");
      const std::string kind = string_at(b, "type");
      if (kind == "tool_use") {
        const int64_t tool = tools_++;
        tool_of_block_[int_at(e, "index")] = tool;
        out.push_back(chunk({{"tool_calls", json::array({{{"index", tool},
                                                          {"id", string_at(b, "id")},
                                                          {"type", "function"},
                                                          {"function", {{"name", string_at(b, "name")},
                                                                        {"arguments", ""}}}}})}}));
      } else if (kind == "text" && !string_at(b, "text").empty()) {
        out.push_back(chunk({{"content", field(b, "text")}}));
      }
    } else if (type == "content_block_delta") {
      const json& d = field(e, "delta");
      const std::string kind = string_at(d, "type");
      if (kind == "text_delta") {
        out.push_back(chunk({{"content", string_at(d, "text")}}));
      } else if (kind == "input_json_delta") {
        out.push_back(chunk({{"tool_calls", json::array({{{"index", tool_of_block_[int_at(e, "index")]},
                                                          {"function", {{"arguments", string_at(d, "partial_json")}}}}})}}));
      } else if (kind == "thinking_delta") {
        out.push_back(chunk({{"reasoning_content", string_at(d, "thinking")}}));
      }
    } else if (type == "message_delta") {
      read_usage(field(e, "usage"));
      const json& d = field(e, "delta");
      json c = chunk(json::object());
      c["choices"][0]["finish_reason"] = finish_reason(field(d, "stop_reason"));
      out.push_back(std::move(c));
    } else if (type == "message_stop") {
      json c = chunk(json::object());
      c["choices"] = json::array();
      c["usage"] = usage_json(input_, cache_read_, cache_write_, output_);
      out.push_back(std::move(c));
      return Step::done;
    }
    return Step::more;  // content_block_stop and event types added later
  }

 private:
  json chunk(json delta) const {
    return {{"id", id_},
            {"object", "chat.completion.chunk"},
            {"created", created_},
            {"model", model_},
            {"choices", json::array({{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", nullptr}}})}};
  }
  // message_start carries the input side, message_delta the output (and,
  // in newer API versions, updated input counts): keep the latest of each.
  void read_usage(const json& u) {
    if (!u.is_object()) return;
    if (u.contains("input_tokens")) input_ = token_count_at(u, "input_tokens");
    if (u.contains("cache_read_input_tokens")) cache_read_ = token_count_at(u, "cache_read_input_tokens");
    if (u.contains("cache_creation_input_tokens")) cache_write_ = token_count_at(u, "cache_creation_input_tokens");
    if (u.contains("output_tokens")) output_ = token_count_at(u, "output_tokens");
  }

  std::string id_, model_;
  const int64_t created_ = unix_now();
  int64_t input_ = 0, cache_read_ = 0, cache_write_ = 0, output_ = 0;
  int64_t tools_ = 0;
  std::map<int64_t, int64_t> tool_of_block_;  // content block index → tool call index
};

class AnthropicFormat final : public WireFormat {
 public:
  explicit AnthropicFormat(int64_t default_max_tokens) : default_max_tokens_(default_max_tokens) {}

  std::string_view path() const override { return "/messages"; }

  Expected<std::string> encode(const json& body, std::string_view model, bool stream) const override {
    if (!body.is_object()) return bad("the request body must be a JSON object");
    // Anthropic has no "n": one answer a call. Answering a request for
    // several with one would break a client that reads choices[1].
    if (auto n = body.find("n"); n != body.end() && n->is_number_integer() && n->get<int64_t>() > 1)
      return bad("n = " + n->dump() + " asks for several answers, and Anthropic's Messages API gives one a call; "
                 "send n separate requests, or route requests with n > 1 to an OpenAI-compatible model");
    json out = json::object();
    out["model"] = model;
    int64_t max_tokens = default_max_tokens_;
    if (auto it = body.find("max_completion_tokens"); it != body.end() && it->is_number_integer()) {
      max_tokens = it->get<int64_t>();
    } else if (auto mt = body.find("max_tokens"); mt != body.end() && mt->is_number_integer()) {
      max_tokens = mt->get<int64_t>();
    }
    out["max_tokens"] = max_tokens;

    std::string system;
    json messages = json::array();
    auto messages_in = body.find("messages");
    if (messages_in == body.end() || !messages_in->is_array()) return bad("\"messages\" must be an array");
    for (const auto& m : *messages_in) {
      if (!m.is_object()) return bad("a message is not an object");
      const std::string role = string_at(m, "role");
      const json content = field(m, "content");
      if (role == "system" || role == "developer") {
        if (!system.empty()) system += "\n\n";
        system += text_of(content);
      } else if (role == "user") {
        auto c = content_of(content);
        if (!c) return Unexpected(c.error());
        messages.push_back({{"role", "user"}, {"content", std::move(*c)}});
      } else if (role == "assistant") {
        auto a = assistant_message(m);
        if (!a) return Unexpected(a.error());
        messages.push_back(std::move(*a));
      } else if (role == "tool") {
        json result = {{"type", "tool_result"},
                       {"tool_use_id", string_at(m, "tool_call_id")},
                       {"content", text_of(content)}};
        // Results of one assistant turn's calls go back in one user turn.
        json* last = messages.empty() ? nullptr : &messages.back();
        if (last && (*last)["role"] == "user" && (*last)["content"].is_array() &&
            !(*last)["content"].empty() && string_at((*last)["content"].back(), "type") == "tool_result") {
          (*last)["content"].push_back(std::move(result));
        } else {
          messages.push_back({{"role", "user"}, {"content", json::array({std::move(result)})}});
        }
      } else {
        return bad("unknown message role '" + role + "'");
      }
    }
    if (!system.empty()) out["system"] = system;
    out["messages"] = std::move(messages);

    if (auto tools = body.find("tools"); tools != body.end() && tools->is_array()) {
      json translated = json::array();
      for (const auto& t : *tools) {
        const json& fn = field(t, "function");
        json tool = {{"name", string_at(fn, "name")},
                     {"input_schema", field(fn, "parameters").is_null() ? json{{"type", "object"}}
                                                                        : field(fn, "parameters")}};
        if (!field(fn, "description").is_null()) tool["description"] = field(fn, "description");
        translated.push_back(std::move(tool));
      }
      out["tools"] = std::move(translated);
    }
    if (auto tc = body.find("tool_choice"); tc != body.end()) out["tool_choice"] = tool_choice_of(*tc);
    if (field(body, "parallel_tool_calls") == false && out.contains("tool_choice")) {
      out["tool_choice"]["disable_parallel_tool_use"] = true;
    }
    if (auto stop = body.find("stop"); stop != body.end() && !stop->is_null()) {
      out["stop_sequences"] = stop->is_array() ? *stop : json::array({*stop});
    }
    if (auto user = body.find("user"); user != body.end() && user->is_string()) {
      out["metadata"] = {{"user_id", *user}};
    }
    // Parameters both APIs share, or only Anthropic knows: passed as given.
    for (const char* key : {"temperature", "top_p", "top_k", "metadata", "thinking", "service_tier"}) {
      if (auto it = body.find(key); it != body.end()) out[key] = *it;
    }
    if (stream) out["stream"] = true;
    return out.dump();
  }

  std::variant<json, Failure> decode(std::string_view body) const override {
    json m = parse_json(body);
    if (m.is_discarded() || !m.is_object() || !m.contains("content") || !m["content"].is_array()) {
      Failure f;
      f.kind = FailureKind::malformed;
      f.message = "answer is not an Anthropic message: " + quote_body(body);
      return f;
    }
    std::string text, thinking;
    bool has_text = false;
    json calls = json::array();
    for (const auto& b : m["content"]) {
      const std::string type = string_at(b, "type");
      if (type == "text") {
        text += string_at(b, "text");
        has_text = true;
      } else if (type == "thinking") {
        thinking += string_at(b, "thinking");
      } else if (type == "tool_use") {
        calls.push_back({{"id", string_at(b, "id")},
                         {"type", "function"},
                         {"function", {{"name", string_at(b, "name")},
                                       {"arguments", (field(b, "input").is_null() ? json::object() : field(b, "input")).dump()}}}});
      }
    }
    json message = {{"role", "assistant"}, {"content", has_text ? json(text) : json()}};
    if (!thinking.empty()) message["reasoning_content"] = thinking;
    if (!calls.empty()) message["tool_calls"] = std::move(calls);
    const json& u = field(m, "usage");
    return json{{"id", string_at(m, "id")},
                {"object", "chat.completion"},
                {"created", unix_now()},
                {"model", string_at(m, "model")},
                {"choices", json::array({{{"index", 0},
                                          {"message", std::move(message)},
                                          {"finish_reason", finish_reason(field(m, "stop_reason"))}}})},
                {"usage", usage_json(token_count_at(u, "input_tokens"), token_count_at(u, "cache_read_input_tokens"),
                                     token_count_at(u, "cache_creation_input_tokens"), token_count_at(u, "output_tokens"))}};
  }

  bool decodes_verbatim() const override { return false; }  // translated from Messages

  std::optional<AnswerFacts> scan(std::string_view /*body*/) const override { return std::nullopt; }

  std::unique_ptr<StreamDecoder> stream_decoder() const override {
    return std::make_unique<AnthropicStream>();
  }

  Failure classify(int status, std::string_view body,
                   std::optional<std::chrono::milliseconds> retry_after) const override {
    json j = parse_json(body);
    Failure f = error_failure(status, j.is_discarded() ? json() : j, retry_after);
    if (f.message.starts_with("HTTP ") && !body.empty()) f.message += ": " + quote_body(body);
    return f;
  }

 private:
  int64_t default_max_tokens_;
};

}  // namespace

std::unique_ptr<WireFormat> make_anthropic_format(int64_t default_max_tokens) {
  return std::make_unique<AnthropicFormat>(default_max_tokens);
}

}  // namespace tollgate::adapters
