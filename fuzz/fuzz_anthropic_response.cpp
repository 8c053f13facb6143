// Anthropic Messages answers, error bodies and event streams, translated to
// the OpenAI shapes (see response_driver.hpp). Specific invariants: a
// decoded answer has exactly one choice with an assistant message, and its
// usage adds up (total = prompt + completion, cached <= prompt).
#include "fuzz/response_driver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const auto format = tollgate::adapters::make_anthropic_format(4096);
  const std::string_view bytes = tollgate::fuzz::as_text(data, size);
  auto decoded = tollgate::fuzz::exercise_format(*format, bytes);
  if (auto* j = std::get_if<nlohmann::json>(&decoded)) {
    const auto& choices = (*j)["choices"];
    FUZZ_CHECK(choices.size() == 1);
    FUZZ_CHECK(choices[0]["message"]["role"] == "assistant");
    FUZZ_CHECK(choices[0]["finish_reason"].is_string());
    const auto u = tollgate::adapters::usage_of(*j);
    FUZZ_CHECK(u.input_tokens >= 0 && u.output_tokens >= 0);
    FUZZ_CHECK(u.cached_input_tokens >= 0 && u.cached_input_tokens <= u.input_tokens);
  }
  return 0;
}
