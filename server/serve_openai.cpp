#include "adapters/json/json_parse.hpp"
#include "server/serve_openai.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

#include "engine/json_depth.hpp"
#include "engine/budget/spend_window.hpp"
#include "engine/stream_options.hpp"
#include "server/serve_tags.hpp"

namespace tollgate::tools {
namespace {

constexpr std::size_t kMaxRequestId = 128;
constexpr std::size_t kMaxUser = 128;

bool safe_id(std::string_view id) {
  return !id.empty() && id.size() <= kMaxRequestId && std::all_of(id.begin(), id.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':';
         });
}

// A header's whole number in [lo, hi]: digits only, nothing after them.
std::optional<int64_t> whole_number(std::string_view text, int64_t lo, int64_t hi) {
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || n < lo || n > hi) return std::nullopt;
  return n;
}

Result<void> parse_cache_header(std::string_view v, CacheControl& cc) {
  while (!v.empty()) {
    const auto comma = v.find(',');
    std::string_view item = v.substr(0, comma);
    v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;
    if (item == "no-cache") {
      cc.no_cache = true;
    } else if (item == "no-store") {
      cc.no_store = true;
    } else if (item.starts_with("ttl=")) {
      const auto secs = whole_number(item.substr(4), 0, 365LL * 86400);
      if (!secs) return Error(ErrorCategory::bad_request, "x-tollgate-cache: ttl wants whole seconds");
      cc.ttl_ms = *secs * 1000;
    } else {
      return Error(ErrorCategory::bad_request,
                   "x-tollgate-cache: '" + std::string(item.substr(0, 40)) + "' is not no-cache, no-store or ttl=SECONDS");
    }
  }
  return {};
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

nlohmann::json usd_or_null(const std::optional<Money>& m) {
  return m ? nlohmann::json(m->usd()) : nlohmann::json(nullptr);
}

}  // namespace

Result<Request> chat_request(const adapters::HttpRequest& http, const KeyInfo& key) {
  auto bad = [](std::string m) { return Error(ErrorCategory::bad_request, std::move(m)); };
  Request r;
  // Nesting is bounded before parsing (the parser itself is iterative): the
  // token estimator, the cache key and the encoders walk the body
  // recursively, and a body of 1 MB of '[' would overflow their stack.
  if (engine::text_nested_deeper_than(http.body, engine::kMaxBodyDepth))
    return bad("The JSON body of your request is nested more than " + std::to_string(engine::kMaxBodyDepth) + " levels deep.");
  r.body = adapters::parse_json(http.body);
  if (r.body.is_discarded()) return bad("We could not parse the JSON body of your request: it is not valid JSON.");
  if (!r.body.is_object()) return bad("The request body must be a JSON object.");
  const auto messages = r.body.find("messages");
  if (messages == r.body.end() || !messages->is_array() || messages->empty())
    return bad("'messages' is required: a non-empty array of chat messages.");

  r.team = key.team;  // the key decides who pays; a body field cannot
  if (!key.user.empty()) {
    r.user = key.user;
  } else if (auto u = r.body.find("user"); u != r.body.end() && u->is_string()) {
    r.user = u->get<std::string>().substr(0, kMaxUser);
  }

  Tags tags;
  if (auto m = r.body.find("metadata"); m != r.body.end()) {
    if (auto ok = tags_from_metadata(*m, tags); !ok.ok()) return ok.error();
    r.body.erase(m);
  }
  if (auto h = http.header("x-tollgate-tags"); !h.empty()) {
    if (auto ok = parse_tags_header(h, tags); !ok.ok()) return ok.error();
  }
  r.tags = std::move(tags);

  if (auto s = r.body.find("stream"); s != r.body.end()) {
    if (!s->is_boolean() && !s->is_null()) return bad("'stream' must be true or false.");
    r.stream = s->is_boolean() && s->get<bool>();
  }
  // The answer goes out as the provider's bytes: no tree of it is needed.
  r.answer_as_text = !r.stream;
  if (auto problem = engine::stream_options_problem(r.body)) return bad(*problem + ".");
  if (auto id = http.header("x-request-id"); !id.empty()) {
    if (!safe_id(id)) return bad("x-request-id: up to 128 letters, digits, '-', '_', '.' or ':'");
    r.id = std::string(id);
  }
  if (auto cc = http.header("x-tollgate-cache"); !cc.empty()) {
    if (auto ok = parse_cache_header(cc, r.cache); !ok.ok()) return ok.error();
  }
  if (auto t = http.header("x-tollgate-timeout-ms"); !t.empty()) {
    const auto ms = whole_number(t, 1, 3'600'000);
    if (!ms) return bad("x-tollgate-timeout-ms: a whole number of milliseconds from 1 to 3600000");
    r.timeout_ms = *ms;
  }
  return r;
}

Result<QualityScore> quality_request(const adapters::HttpRequest& http) {
  auto bad = [](std::string m) { return Error(ErrorCategory::bad_request, std::move(m)); };
  constexpr std::size_t kMaxSource = 64;
  if (engine::text_nested_deeper_than(http.body, engine::kMaxBodyDepth))
    return bad("The JSON body of your request is nested too deeply.");
  const auto body = adapters::parse_json(http.body);
  if (body.is_discarded() || !body.is_object())
    return bad(R"(Send a JSON object: {"request_id": "...", "score": 0.9, "source": "thumbs"}.)");
  QualityScore q;
  const auto id = body.find("request_id");
  if (id == body.end() || !id->is_string() || !safe_id(id->get_ref<const std::string&>()))
    return bad("'request_id' is required: the x-request-id of the answer you are scoring.");
  q.request_id = id->get<std::string>();
  const auto score = body.find("score");
  if (score == body.end() || !score->is_number() || !(score->get<double>() >= 0.0 && score->get<double>() <= 1.0))
    return bad("'score' is required: a number from 0 (useless) to 1 (perfect).");
  q.score = score->get<double>();
  q.source = "api";
  if (const auto src = body.find("source"); src != body.end()) {
    if (!src->is_string() || src->get_ref<const std::string&>().empty() || src->get_ref<const std::string&>().size() > kMaxSource)
      return bad("'source' must be a string of 1 to 64 characters, such as \"thumbs\" or \"evaluator\".");
    q.source = src->get<std::string>();
  }
  return q;
}

std::string sse_data(const nlohmann::json& chunk) {
  std::string out = "data: ";
  out += chunk.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out += "\n\n";
  return out;
}

nlohmann::json usage_chunk(const Response& response, std::string_view id, bool estimated) {
  const auto& u = response.usage;
  nlohmann::json usage = {{"prompt_tokens", u.input_tokens},
                          {"completion_tokens", u.output_tokens},
                          {"total_tokens", u.input_tokens + u.output_tokens},
                          {"prompt_tokens_details", {{"cached_tokens", u.cached_input_tokens}}}};
  if (estimated) usage["tollgate_estimated"] = true;
  return {{"id", id},
          {"object", "chat.completion.chunk"},
          {"created", response.body.is_object() ? response.body.value("created", 0) : 0},
          {"model", response.model},
          {"choices", nlohmann::json::array()},
          {"usage", std::move(usage)}};
}

nlohmann::json models_body(const std::vector<RoutableModel>& models) {
  nlohmann::json data = nlohmann::json::array();
  for (const auto& m : models)
    data.push_back({{"id", m.id}, {"object", "model"}, {"created", 0}, {"owned_by", m.provider}});
  return {{"object", "list"}, {"data", std::move(data)}};
}

nlohmann::json spend_body(std::string_view team, const std::vector<SpendView>& views) {
  nlohmann::json windows = nlohmann::json::array();
  for (const auto& v : views) {
    std::optional<Money> remaining;
    if (v.cap) remaining = *v.cap - v.spent - v.reserved;
    windows.push_back({{"window", v.window},
                       {"spent_usd", v.spent.usd()},
                       {"reserved_usd", v.reserved.usd()},
                       {"cap_usd", usd_or_null(v.cap)},
                       {"remaining_usd", usd_or_null(remaining)},
                       {"spent_nanos", v.spent.nanos},
                       {"reserved_nanos", v.reserved.nanos},
                       {"cap_nanos", v.cap ? nlohmann::json(v.cap->nanos) : nlohmann::json(nullptr)},
                       {"window_start", engine::utc_minute(v.window_start_ms)},
                       {"window_end", engine::utc_minute(v.window_end_ms)}});
  }
  return {{"object", "spend"}, {"team", team}, {"windows", std::move(windows)}};
}

std::string query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const auto eq = item.find('=');
    if (item.substr(0, eq) == name) return eq == std::string_view::npos ? std::string() : percent_decode(item.substr(eq + 1));
  }
  return {};
}

}  // namespace tollgate::tools
