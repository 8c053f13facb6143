// The token estimate against real tokenizer counts on fixed samples
// (tests/data/token_samples.json, made by tools/gen_token_samples.cjs).
#include <cstdio>
#include <fstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "engine/routing/tokens.hpp"

using tollgate::engine::estimate_request_tokens;
using tollgate::engine::estimate_text_tokens;

TEST_CASE("the estimate never under-counts the samples, and reports its error", "[tokens]") {
  std::ifstream in(std::string(TOLLGATE_TEST_DATA) + "/token_samples.json");
  REQUIRE(in);
  const auto doc = nlohmann::json::parse(in);
  std::printf("%-16s %9s %7s %7s %8s %8s\n", "sample", "estimate", "cl100k", "o200k", "err cl", "err o200");
  double worst_over = 0;
  for (const auto& s : doc["samples"]) {
    const std::string name = s["name"], text = s["text"];
    const int64_t est = estimate_text_tokens(text);
    const int64_t cl = s["cl100k"], o2 = s["o200k"];
    const double err_cl = 100.0 * static_cast<double>(est - cl) / static_cast<double>(cl);
    const double err_o2 = 100.0 * static_cast<double>(est - o2) / static_cast<double>(o2);
    std::printf("%-16s %9lld %7lld %7lld %+7.0f%% %+7.0f%%\n", name.c_str(), static_cast<long long>(est),
                static_cast<long long>(cl), static_cast<long long>(o2), err_cl, err_o2);
    INFO(name);
    CHECK(est >= cl);  // conservative: never under
    CHECK(est >= o2);
    CHECK(est <= 2 * cl);  // and not uselessly high for OpenAI's own tokenizer
    worst_over = std::max(worst_over, err_cl);
  }
  std::printf("largest over-estimate against cl100k: %+.0f%%\n", worst_over);
}

TEST_CASE("a chat request adds framing per message and counts every part", "[tokens]") {
  const auto text_only = nlohmann::json::parse(R"({"messages": [{"role": "user", "content": "hello there"}]})");
  const int64_t base = estimate_request_tokens(text_only);
  CHECK(base == estimate_text_tokens("hello there") + 4 + 3);

  auto with_parts = nlohmann::json::parse(R"({"messages": [{"role": "user", "content": [
      {"type": "text", "text": "what is in this picture?"},
      {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]})");
  CHECK(estimate_request_tokens(with_parts) >= 1105);

  auto with_tools = text_only;
  with_tools["tools"] = nlohmann::json::parse(
      R"([{"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object"}}}])");
  CHECK(estimate_request_tokens(with_tools) > base);

  CHECK(estimate_request_tokens(nlohmann::json::array()) == 0);
  CHECK(estimate_text_tokens("") == 0);
  CHECK(estimate_text_tokens("\xff\xfe") >= 2);  // invalid UTF-8 still counts
}
