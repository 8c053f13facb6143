// OpenAI-compatible answers, error bodies and streams (see response_driver.hpp).
// Specific invariants: a decoded answer is the provider's JSON unchanged,
// and reading usage and finish reason straight off the bytes (the scan a
// gateway uses instead of decoding) agrees with reading them off the tree.
#include "adapters/answer_scan.hpp"
#include "fuzz/response_driver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const auto format = tollgate::adapters::make_openai_format();
  const std::string_view bytes = tollgate::fuzz::as_text(data, size);
  auto decoded = tollgate::fuzz::exercise_format(*format, bytes);
  const auto facts = format->scan(bytes);
  auto* j = std::get_if<nlohmann::json>(&decoded);
  FUZZ_CHECK(facts.has_value() == (j != nullptr));
  if (j) {
    FUZZ_CHECK(*j == nlohmann::json::parse(bytes));
    const auto usage = tollgate::adapters::usage_of(*j);
    FUZZ_CHECK(facts->usage.input_tokens == usage.input_tokens);
    FUZZ_CHECK(facts->usage.cached_input_tokens == usage.cached_input_tokens);
    FUZZ_CHECK(facts->usage.output_tokens == usage.output_tokens);
    FUZZ_CHECK(facts->finish_reason == tollgate::adapters::finish_reason_of(*j));
  }
  return 0;
}
