// Request normalization: a POST /v1/chat/completions (optional x-* header
// lines, then the JSON body) becomes a tollgate::Request, whose body is then
// estimated for tokens, keyed for the cache, and encoded for both provider
// wire formats — everything the engine does with a body before dispatch.
//
// Input: lines "x-name: value\n" while the input starts with "x-", then the
// body. Invariants: an accepted request names the key's team, keeps a
// non-empty messages array and drops `metadata`; the OpenAI encoding is the
// body with model/stream set (nothing else changed); the Anthropic encoding
// is a JSON object with messages and max_tokens, or a clean refusal.
#include <array>
#include <string>

#include <nlohmann/json.hpp>

#include "adapters/providers/wire_format.hpp"
#include "engine/cache/cache_key.hpp"
#include "engine/stream_options.hpp"
#include "engine/routing/tokens.hpp"
#include "fuzz/fuzz_check.hpp"
#include "server/serve_openai.hpp"

using nlohmann::json;
namespace adapters = tollgate::adapters;

namespace {

adapters::HttpRequest http_request(std::string_view in) {
  adapters::HttpRequest http;
  http.method = "POST";
  http.target = "/v1/chat/completions";
  while (in.starts_with("x-")) {
    const auto nl = in.find('\n');
    const std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
    const auto colon = line.find(':');
    std::string_view value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
    while (value.starts_with(' ')) value.remove_prefix(1);
    http.headers.emplace_back(line.substr(0, colon), value);
  }
  http.body = std::string(in);
  return http;
}

void check_openai_encoding(const json& body, bool stream) {
  static const auto openai = adapters::make_openai_format();
  auto encoded = openai->encode(body, "gpt-test", stream);
  FUZZ_CHECK(encoded.ok());
  json sent = json::parse(*encoded);  // throws (a crash) if it is not JSON
  FUZZ_CHECK(sent["model"] == "gpt-test");
  if (stream) {
    FUZZ_CHECK(sent["stream"] == true);
    FUZZ_CHECK(sent["stream_options"]["include_usage"] == true);
  } else {
    FUZZ_CHECK(!sent.contains("stream"));
  }
  json expected = body;
  for (const char* k : {"model", "stream", "stream_options"}) {
    expected.erase(k);
    sent.erase(k);
  }
  FUZZ_CHECK(sent == expected);
}

void check_anthropic_encoding(const json& body, bool stream) {
  static const auto anthropic = adapters::make_anthropic_format(1024);
  auto encoded = anthropic->encode(body, "claude-test", stream);
  if (!encoded.ok()) {
    FUZZ_CHECK(!encoded.error().empty());
    return;
  }
  const json sent = json::parse(*encoded);
  FUZZ_CHECK(sent.is_object());
  FUZZ_CHECK(sent["model"] == "claude-test");
  FUZZ_CHECK(sent["messages"].is_array());
  FUZZ_CHECK(sent["max_tokens"].is_number_integer());
  FUZZ_CHECK(sent.value("stream", false) == stream);
  for (const auto& m : sent["messages"]) {
    FUZZ_CHECK(m["role"] == "user" || m["role"] == "assistant");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const adapters::HttpRequest http = http_request(tollgate::fuzz::as_text(data, size));
  const tollgate::tools::KeyInfo key{"team-a", "", false};
  auto request = tollgate::tools::chat_request(http, key);
  if (!request.ok()) {
    FUZZ_CHECK(request.error().category() == tollgate::ErrorCategory::bad_request);
    FUZZ_CHECK(!request.error().message().empty());
    return 0;
  }
  const json& body = request->body;
  FUZZ_CHECK(request->team == "team-a");
  FUZZ_CHECK(body.is_object() && !body.contains("metadata"));
  FUZZ_CHECK(body["messages"].is_array() && !body["messages"].empty());
  (void)tollgate::engine::wants_stream_usage(*request);

  const int64_t tokens = tollgate::engine::estimate_request_tokens(body);
  FUZZ_CHECK(tokens >= 7);  // one message's framing plus the reply primer, at least

  const tollgate::engine::CacheKeyer keyer(tollgate::engine::CacheKeySecret{});
  const std::array<std::string_view, 1> models = {"m"};
  FUZZ_CHECK(keyer.key("team-a", body, 0, models) == keyer.key("team-a", body, 0, models));

  for (bool stream : {false, true}) {
    check_openai_encoding(body, stream);
    check_anthropic_encoding(body, stream);
  }
  return 0;
}
