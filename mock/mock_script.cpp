#include "mock/mock_script.hpp"

#include <charconv>
#include <cmath>
#include <ctime>

namespace tollgate::adapters {

namespace {

using nlohmann::json;

std::string json_str(std::string_view s) { return json(s).dump(); }

Unexpected script_error(std::string_view what) {
  return Unexpected("mock script: " + std::string(what));
}

template <typename T>
Expected<T> number(std::string_view key, std::string_view value) {
  T out{};
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out);
  if (ec != std::errc() || end != value.data() + value.size()) {
    return script_error("'" + std::string(key) + "' wants a number, not '" + std::string(value) + "'");
  }
  return out;
}

Expected<void> apply_key(std::string_view key, std::string_view value, MockBehavior& b) {
  auto as_int = [&]() { return number<int64_t>(key, value); };
  if (key == "reply") {
    b.reply = std::string(value);
  } else if (key == "fault") {
    auto f = mock_fault_from_string(value);
    if (!f) return script_error("unknown fault '" + std::string(value) + "'");
    b.fault = *f;
  } else if (key == "tool") {
    b.tool_name = std::string(value);
  } else if (key == "tool_args") {
    b.tool_arguments = std::string(value);
  } else if (key == "faults") {
    std::vector<MockFault> faults;  // assigned whole: a bad list changes nothing
    for (std::string_view rest = value; !rest.empty();) {
      const auto comma = rest.find(',');
      const std::string_view name = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (name.empty()) continue;
      auto f = mock_fault_from_string(name);
      if (!f) return script_error("unknown fault '" + std::string(name) + "' in faults");
      faults.push_back(*f);
    }
    b.random_faults = std::move(faults);
  } else if (key == "fault_rate") {
    auto v = number<double>(key, value);
    if (!v) return Unexpected(v.error());
    if (!(*v >= 0 && *v <= 1)) return script_error("'fault_rate' wants a number from 0 to 1");
    b.fault_rate = *v;
  } else if (key == "fault_seed") {
    auto v = number<uint64_t>(key, value);
    if (!v) return Unexpected(v.error());
    b.fault_seed = *v;
  } else if (key == "tps") {
    auto v = number<double>(key, value);
    if (!v) return Unexpected(v.error());
    b.tokens_per_second = *v;
  } else {
    auto v = as_int();
    if (!v) return Unexpected(v.error());
    if (key == "latency_ms") b.latency = std::chrono::milliseconds(*v);
    else if (key == "fail_times") b.fail_times = *v;
    else if (key == "retry_after_s") b.retry_after = std::chrono::seconds(*v);
    else if (key == "context_window") b.context_window = *v;
    else if (key == "cached_tokens") b.cached_tokens = *v;
    else if (key == "truncate_after") b.truncate_after = *v;
    else if (key == "no_usage") b.omit_usage = *v != 0;
    else return script_error("unknown key '" + std::string(key) + "'");
  }
  return {};
}

std::string text_of(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string text;
  if (content.is_array()) {
    for (const auto& part : content) {
      if (part.is_object() && part.contains("text") && part["text"].is_string()) {
        text += part["text"].get<std::string>();
      }
    }
  }
  return text;
}

// The first `max` bytes of text, never splitting a UTF-8 sequence.
std::string_view utf8_prefix(std::string_view text, std::size_t max) {
  if (text.size() <= max) return text;
  while (max > 0 && (static_cast<unsigned char>(text[max]) & 0xC0) == 0x80) --max;
  return text.substr(0, max);
}

// Words with their leading spaces: joined back they are the text exactly.
std::vector<std::string> split_pieces(std::string_view text) {
  std::vector<std::string> pieces;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = i;
    while (j < text.size() && text[j] == ' ') ++j;
    while (j < text.size() && text[j] != ' ') ++j;
    pieces.emplace_back(text.substr(i, j - i));
    i = j;
  }
  return pieces;
}

std::string_view finish_of(const MockAnswer& a, ApiKind api) {
  if (api == ApiKind::anthropic) return a.tool_call ? "tool_use" : a.cut_at_max ? "max_tokens" : "end_turn";
  return a.tool_call ? "tool_calls" : a.cut_at_max ? "length" : "stop";
}

std::string sse(std::string_view event, const std::string& data) {
  std::string out;
  out.reserve(data.size() + event.size() + 16);
  if (!event.empty()) {
    out += "event: ";
    out += event;
    out += '\n';
  }
  out += "data: ";
  out += data;
  out += "\n\n";
  return out;
}

// n answers bill the prompt once and every answer's output.
std::string openai_usage(const MockRequest& r, const MockAnswer& a) {
  const int64_t completion = a.completion_tokens * r.answers;
  return "{\"prompt_tokens\":" + std::to_string(a.prompt_tokens) +
         ",\"completion_tokens\":" + std::to_string(completion) +
         ",\"total_tokens\":" + std::to_string(a.prompt_tokens + completion) +
         ",\"prompt_tokens_details\":{\"cached_tokens\":" + std::to_string(a.cached_tokens) + "}}";
}

std::string anthropic_usage(const MockAnswer& a, int64_t output) {
  return "{\"input_tokens\":" + std::to_string(a.prompt_tokens - a.cached_tokens) +
         ",\"cache_read_input_tokens\":" + std::to_string(a.cached_tokens) +
         ",\"cache_creation_input_tokens\":0,\"output_tokens\":" + std::to_string(output) + "}";
}

std::string joined(const MockAnswer& a) {
  std::string text;
  for (const auto& p : a.pieces) text += p;
  return text;
}

// "[{"index":0,<fields>},{"index":1,<fields>},...]": every one of the
// request's n choices gets the same reply.
std::string choices_array(const MockRequest& r, const std::string& fields) {
  std::string out = "[";
  for (int64_t i = 0; i < r.answers; ++i)
    out += (i ? ",{\"index\":" : "{\"index\":") + std::to_string(i) + "," + fields + "}";
  return out + "]";
}

std::vector<std::string> openai_sse(const MockRequest& r, const MockAnswer& a) {
  const std::string head = "{\"id\":" + json_str(a.id) +
                           ",\"object\":\"chat.completion.chunk\",\"created\":" +
                           std::to_string(std::time(nullptr)) + ",\"model\":" + json_str(r.model) +
                           ",\"choices\":";
  auto chunk = [&](const std::string& delta, std::string_view finish = "null") {
    return sse("", head + choices_array(r, "\"delta\":" + delta + ",\"finish_reason\":" + std::string(finish)) + "}");
  };
  std::vector<std::string> events;
  events.reserve(a.pieces.size() + 5);
  events.push_back(chunk("{\"role\":\"assistant\",\"content\":\"\"}"));
  if (a.tool_call) {
    events.push_back(chunk("{\"tool_calls\":[{\"index\":0,\"id\":\"call_" + a.id +
                           "\",\"type\":\"function\",\"function\":{\"name\":" + json_str(a.tool_name) +
                           ",\"arguments\":\"\"}}]}"));
  }
  for (const auto& p : a.pieces) {
    events.push_back(chunk(a.tool_call ? "{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":" +
                                             json_str(p) + "}}]}"
                                       : "{\"content\":" + json_str(p) + "}"));
  }
  events.push_back(chunk("{}", "\"" + std::string(finish_of(a, r.api)) + "\""));
  if (r.include_usage && !a.omit_usage) {
    events.push_back(sse("", "{\"id\":" + json_str(a.id) +
                                 ",\"object\":\"chat.completion.chunk\",\"created\":" +
                                 std::to_string(std::time(nullptr)) + ",\"model\":" +
                                 json_str(r.model) + ",\"choices\":[],\"usage\":" + openai_usage(r, a) + "}"));
  }
  events.push_back(sse("", "[DONE]"));
  return events;
}

std::vector<std::string> anthropic_sse(const MockRequest& r, const MockAnswer& a) {
  std::vector<std::string> events;
  events.reserve(a.pieces.size() + 6);
  events.push_back(sse("message_start",
                       "{\"type\":\"message_start\",\"message\":{\"id\":" + json_str(a.id) +
                           ",\"type\":\"message\",\"role\":\"assistant\",\"model\":" + json_str(r.model) +
                           ",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":" +
                           anthropic_usage(a, 1) + "}}"));
  const std::string block =
      a.tool_call ? "{\"type\":\"tool_use\",\"id\":\"toolu_" + a.id + "\",\"name\":" +
                        json_str(a.tool_name) + ",\"input\":{}}"
                  : "{\"type\":\"text\",\"text\":\"\"}";
  events.push_back(sse("content_block_start",
                       "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":" + block + "}"));
  for (const auto& p : a.pieces) {
    events.push_back(sse("content_block_delta",
                         "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":" +
                             (a.tool_call ? "{\"type\":\"input_json_delta\",\"partial_json\":" + json_str(p) + "}"
                                          : "{\"type\":\"text_delta\",\"text\":" + json_str(p) + "}") +
                             "}"));
  }
  events.push_back(sse("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}"));
  events.push_back(sse("message_delta",
                       "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"" +
                           std::string(finish_of(a, r.api)) +
                           "\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":" +
                           std::to_string(a.completion_tokens) + "}}"));
  events.push_back(sse("message_stop", "{\"type\":\"message_stop\"}"));
  return events;
}

}  // namespace

std::string_view to_string(MockFault f) noexcept {
  switch (f) {
    case MockFault::none: return "none";
    case MockFault::rate_limit: return "rate_limit";
    case MockFault::server_error: return "server_error";
    case MockFault::unavailable: return "unavailable";
    case MockFault::hang: return "hang";
    case MockFault::reset: return "reset";
    case MockFault::truncate: return "truncate";
    case MockFault::malformed: return "malformed";
    case MockFault::context_length: return "context_length";
    case MockFault::bad_request: return "bad_request";
    case MockFault::unauthorized: return "unauthorized";
    case MockFault::deep: return "deep";
  }
  return "none";
}

std::optional<MockFault> mock_fault_from_string(std::string_view name) noexcept {
  for (std::size_t i = 0; i < kMockFaultKinds; ++i) {
    const auto f = static_cast<MockFault>(i);
    if (to_string(f) == name) return f;
  }
  return std::nullopt;
}

Expected<void> apply_mock_script(std::string_view spec, MockBehavior& behavior) {
  while (!spec.empty()) {
    const auto semi = spec.find(';');
    std::string_view item = spec.substr(0, semi);
    spec = semi == std::string_view::npos ? std::string_view() : spec.substr(semi + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) return script_error("'" + std::string(item) + "' is not key=value");
    if (auto r = apply_key(item.substr(0, eq), item.substr(eq + 1), behavior); !r) return r;
  }
  return {};
}

std::string mock_script_help() {
  std::string help =
      "SPEC is key=value;key=value (the --script and --default flags, the x-mock-script header);\n"
      "a --config file takes the same keys as JSON: {\"default\": {...}, \"models\": {\"name\": {...}}}.\n"
      "  reply=TEXT          the answer's text (default: quotes the last user message)\n"
      "  latency_ms=N        wait before the response headers\n"
      "  tps=N               streaming pace in tokens a second (0: every delta at once)\n"
      "  tool=NAME           answer with one call of this tool instead of text\n"
      "  tool_args=JSON      that call's arguments (default {})\n"
      "  cached_tokens=N     prompt tokens reported as served from the provider's cache\n"
      "  no_usage=1          OpenAI format: report no usage at all\n"
      "  context_window=N    prompts estimated above N tokens get the context-length error\n"
      "  fault=KIND          fail with KIND (below)\n"
      "  fail_times=N        the fault applies to the first N calls, then answers (-1: every call)\n"
      "  retry_after_s=N     Retry-After of rate_limit and unavailable\n"
      "  truncate_after=N    truncate: deltas sent before the connection is cut\n"
      "  fault_rate=P        random faults: each healthy call fails with probability P in [0, 1]\n"
      "  faults=K1,K2,...    the kinds random faults are drawn from (default: every kind)\n"
      "  fault_seed=N        seed of the random faults; the same seed replays the same mix\n"
      "fault kinds (deep: a 200 answer or stream event nested 100,000 levels deep):";
  for (std::size_t i = 1; i < kMockFaultKinds; ++i) {
    help += ' ';
    help += to_string(static_cast<MockFault>(i));
  }
  help += '\n';
  return help;
}

Expected<void> apply_mock_json(const json& spec, MockBehavior& behavior) {
  if (!spec.is_object()) return script_error("a behaviour must be a JSON object");
  for (const auto& [key, value] : spec.items()) {
    std::string text = value.is_string() ? value.get<std::string>() : value.dump();
    if (value.is_array()) {  // "faults": ["reset", "hang"]
      text.clear();
      for (const auto& item : value) {
        if (!item.is_string()) return script_error(key + ": a list of names is wanted");
        text += (text.empty() ? "" : ",") + item.get<std::string>();
      }
    }
    if (auto r = apply_key(key, text, behavior); !r) return r;
  }
  return {};
}

int64_t estimate_mock_tokens(std::size_t text_bytes) {
  return static_cast<int64_t>((text_bytes + 3) / 4);
}

Expected<MockRequest> parse_mock_request(ApiKind api, std::string_view body) {
  auto bad = [](std::string m) { return Unexpected(std::move(m)); };
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("request body is not a JSON object");
  MockRequest r;
  r.api = api;
  auto model = j.find("model");
  if (model == j.end() || !model->is_string()) return bad("model: field required");
  r.model = model->get<std::string>();
  auto messages = j.find("messages");
  if (messages == j.end() || !messages->is_array() || messages->empty()) {
    return bad("messages: a non-empty array is required");
  }
  if (api == ApiKind::anthropic && !j.contains("max_tokens")) return bad("max_tokens: Field required");
  if (auto s = j.find("stream"); s != j.end() && !s->is_null()) {
    if (!s->is_boolean()) return bad("stream: must be a boolean");
    r.stream = s->get<bool>();
  }
  if (auto n = j.find("n"); api == ApiKind::openai && n != j.end() && !n->is_null()) {
    if (!n->is_number_integer() || n->get<int64_t>() < 1 || n->get<int64_t>() > 128)
      return bad("n: must be an integer from 1 to 128");
    r.answers = n->get<int64_t>();
  }
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    if (auto m = j.find(key); m != j.end() && m->is_number_integer() && m->get<int64_t>() > 0)
      r.max_tokens = m->get<int64_t>();
  }
  if (auto so = j.find("stream_options"); so != j.end() && so->is_object()) {
    auto iu = so->find("include_usage");
    r.include_usage = iu != so->end() && iu->is_boolean() && iu->get<bool>();
  }
  std::size_t bytes = 0;
  int64_t overhead = 0;
  if (auto sys = j.find("system"); sys != j.end()) bytes += text_of(*sys).size();
  for (const auto& m : *messages) {
    if (!m.is_object()) return bad("each message must be an object");
    const std::string text = text_of(m.value("content", json()));
    bytes += text.size();
    overhead += 4;  // role and framing tokens, as chat templates add them
    if (auto role = m.find("role"); role != m.end() && *role == "user") r.last_user_text = text;
  }
  r.prompt_tokens = estimate_mock_tokens(bytes) + overhead;
  return r;
}

namespace {

// SplitMix64: a well-mixed 64-bit value from any input, no state to share
// between the server's threads.
uint64_t mix64(uint64_t x) noexcept {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

MockFault random_fault(const MockBehavior& b, uint64_t serial) noexcept {
  if (b.fault_rate <= 0) return MockFault::none;
  const uint64_t draw = mix64(b.fault_seed ^ mix64(serial));
  if (static_cast<double>(draw >> 11) * 0x1.0p-53 >= b.fault_rate) return MockFault::none;
  const uint64_t pick = mix64(draw);
  if (!b.random_faults.empty()) return b.random_faults[pick % b.random_faults.size()];
  return static_cast<MockFault>(1 + pick % (kMockFaultKinds - 1));  // any kind but none
}

}  // namespace

MockFault mock_fault_for(const MockBehavior& b, const MockRequest& r, int64_t nth, uint64_t serial) noexcept {
  MockFault fault = b.fault;
  if (b.fail_times >= 0 && nth > b.fail_times) fault = MockFault::none;
  if (fault == MockFault::none) fault = random_fault(b, serial);
  if (b.context_window > 0 && r.prompt_tokens > b.context_window) fault = MockFault::context_length;
  return fault;
}

MockAnswer make_mock_answer(const MockRequest& r, const MockBehavior& b, std::string id) {
  MockAnswer a;
  a.id = std::move(id);
  a.prompt_tokens = r.prompt_tokens;
  a.cached_tokens = std::min(b.cached_tokens, r.prompt_tokens);
  a.omit_usage = b.omit_usage;
  if (!b.tool_name.empty()) {
    a.tool_call = true;
    a.tool_name = b.tool_name;
    a.tool_arguments = b.tool_arguments;
    for (std::size_t i = 0; i < b.tool_arguments.size(); i += 8) {
      a.pieces.push_back(b.tool_arguments.substr(i, 8));
    }
    a.completion_tokens = estimate_mock_tokens(b.tool_arguments.size()) + 8;
    return a;
  }
  const std::string text = !b.reply.empty()
                               ? b.reply
                               : "Mock answer from " + r.model + " to: " +
                                     std::string(utf8_prefix(r.last_user_text, 60));
  a.pieces = split_pieces(text);
  // A provider stops at max_tokens: one piece is one token here.
  if (r.max_tokens > 0 && static_cast<int64_t>(a.pieces.size()) > r.max_tokens) {
    a.pieces.resize(static_cast<std::size_t>(r.max_tokens));
    a.cut_at_max = true;
  }
  a.completion_tokens = static_cast<int64_t>(a.pieces.size());
  return a;
}

std::string render_mock_json(const MockRequest& r, const MockAnswer& a) {
  const std::string finish(finish_of(a, r.api));
  if (r.api == ApiKind::anthropic) {
    const std::string block =
        a.tool_call ? "{\"type\":\"tool_use\",\"id\":\"toolu_" + a.id + "\",\"name\":" +
                          json_str(a.tool_name) + ",\"input\":" + a.tool_arguments + "}"
                    : "{\"type\":\"text\",\"text\":" + json_str(joined(a)) + "}";
    return "{\"id\":" + json_str(a.id) + ",\"type\":\"message\",\"role\":\"assistant\",\"model\":" +
           json_str(r.model) + ",\"content\":[" + block + "],\"stop_reason\":\"" + finish +
           "\",\"stop_sequence\":null,\"usage\":" + anthropic_usage(a, a.completion_tokens) + "}";
  }
  const std::string message =
      a.tool_call ? "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_" + a.id +
                        "\",\"type\":\"function\",\"function\":{\"name\":" + json_str(a.tool_name) +
                        ",\"arguments\":" + json_str(a.tool_arguments) + "}}]}"
                  : "{\"role\":\"assistant\",\"content\":" + json_str(joined(a)) + "}";
  return "{\"id\":" + json_str(a.id) + ",\"object\":\"chat.completion\",\"created\":" +
         std::to_string(std::time(nullptr)) + ",\"model\":" + json_str(r.model) + ",\"choices\":" +
         choices_array(r, "\"message\":" + message + ",\"logprobs\":null,\"finish_reason\":\"" + finish + "\"") +
         (a.omit_usage ? std::string() : ",\"usage\":" + openai_usage(r, a)) + "}";
}

std::vector<std::string> render_mock_sse(const MockRequest& r, const MockAnswer& a) {
  return r.api == ApiKind::anthropic ? anthropic_sse(r, a) : openai_sse(r, a);
}

std::size_t first_piece_event(ApiKind api, const MockAnswer& answer) {
  return api == ApiKind::openai && !answer.tool_call ? 1 : 2;
}

std::string render_mock_error(ApiKind api, int status, std::string_view code,
                              std::string_view message) {
  if (api == ApiKind::anthropic) {
    const char* type = status == 400 ? "invalid_request_error"
                     : status == 401 ? "authentication_error"
                     : status == 429 ? "rate_limit_error"
                     : status == 503 || status == 529 ? "overloaded_error"
                     : "api_error";
    return "{\"type\":\"error\",\"error\":{\"type\":\"" + std::string(type) +
           "\",\"message\":" + json_str(message) + "}}";
  }
  const char* type = status == 429 ? "requests" : status >= 500 ? "server_error" : "invalid_request_error";
  return "{\"error\":{\"message\":" + json_str(message) + ",\"type\":\"" + type +
         "\",\"param\":null,\"code\":" + (code.empty() ? std::string("null") : json_str(code)) + "}}";
}

}  // namespace tollgate::adapters
