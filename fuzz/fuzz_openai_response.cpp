// OpenAI-compatible answers, error bodies and streams (see response_driver.hpp).
// Specific invariants: a decoded answer is the provider's JSON unchanged,
// and reading usage and finish reason straight off the bytes (the scan a
// gateway uses instead of decoding) agrees with reading them off the tree;
// and our JSON reader (adapters/json/json_reader.hpp, under the scan and
// parse_json) accepts exactly the texts nlohmann::json::parse() accepts but
// for those nested past its bound and one kind of exponent (below), and
// parse_json builds the same tree; JsonWriter writes what dump() writes.
#include "adapters/providers/answer_scan.hpp"
#include "adapters/json/json_parse.hpp"
#include "adapters/json/json_write.hpp"
#include "engine/json_depth.hpp"
#include "fuzz/response_driver.hpp"

namespace {

// The one difference the reader keeps from nlohmann (json_reader.hpp): an
// exponent past INT_MAX is an error where nlohmann may read a zero. Texts
// with an exponent of ten or more significant digits may differ so.
bool has_huge_exponent(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != 'e' && s[i] != 'E') continue;
    std::size_t j = i + 1;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
    while (j < s.size() && s[j] == '0') ++j;
    std::size_t digits = 0;
    while (j + digits < s.size() && s[j + digits] >= '0' && s[j + digits] <= '9') ++digits;
    if (digits >= 10) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const auto format = tollgate::adapters::make_openai_format();
  const std::string_view bytes = tollgate::fuzz::as_text(data, size);
  auto decoded = tollgate::fuzz::exercise_format(*format, bytes);
  // At the bound the gateway reads with: the reader recurses once per level,
  // and -max_len texts can nest deeper than ASan's stack allows.
  const auto ours = tollgate::adapters::parse_json(bytes, tollgate::adapters::kMaxJsonDepth);
  const auto theirs = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(ours.is_discarded() == theirs.is_discarded() ||
             (ours.is_discarded() &&
              (has_huge_exponent(bytes) ||
               tollgate::engine::text_nested_deeper_than(bytes, tollgate::adapters::kMaxJsonDepth))));
  // The trees are compared with nlohmann's recursive dump(), which the
  // bound keeps within ASan's stack.
  if (!ours.is_discarded()) {
    FUZZ_CHECK(ours == theirs && ours.dump() == theirs.dump());
    std::string written;
    tollgate::adapters::JsonWriter(written).value(ours);
    FUZZ_CHECK(written == theirs.dump());
  }
  // The writer quotes any bytes as dump() does, refusing the same ones.
  {
    std::string written, dumped;
    bool writer_threw = false, dump_threw = false;
    try {
      tollgate::adapters::JsonWriter(written).string(bytes);
    } catch (const nlohmann::json::type_error&) {
      writer_threw = true;
    }
    try {
      dumped = nlohmann::json(std::string(bytes)).dump();
    } catch (const nlohmann::json::type_error&) {
      dump_threw = true;
    }
    FUZZ_CHECK(writer_threw == dump_threw);
    if (!dump_threw) FUZZ_CHECK(written == dumped);
  }
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
