// OpenAI-compatible answers, error bodies and streams (see response_driver.hpp).
// Specific invariant: a decoded answer is the provider's JSON unchanged.
#include "fuzz/response_driver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const auto format = tollgate::adapters::make_openai_format();
  const std::string_view bytes = tollgate::fuzz::as_text(data, size);
  auto decoded = tollgate::fuzz::exercise_format(*format, bytes);
  if (auto* j = std::get_if<nlohmann::json>(&decoded)) {
    FUZZ_CHECK(*j == nlohmann::json::parse(bytes));
  }
  return 0;
}
