// OpenAI-compatible answers, error bodies and streams (see response_driver.hpp).
// Specific invariants: a decoded answer is the provider's JSON unchanged,
// and reading usage and finish reason straight off the bytes (the scan a
// gateway uses instead of decoding) agrees with reading them off the tree;
// and our JSON reader (adapters/json/json_reader.hpp, under the scan and
// parse_json) accepts exactly the texts nlohmann::json::parse() accepts, and
// parse_json builds the same tree; JsonWriter writes what dump() writes.
#include "adapters/providers/answer_scan.hpp"
#include "adapters/json/json_parse.hpp"
#include "adapters/json/json_write.hpp"
#include "engine/json_depth.hpp"
#include "fuzz/response_driver.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const auto format = tollgate::adapters::make_openai_format();
  const std::string_view bytes = tollgate::fuzz::as_text(data, size);
  auto decoded = tollgate::fuzz::exercise_format(*format, bytes);
  const auto ours = tollgate::adapters::parse_json(bytes);
  const auto theirs = nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  FUZZ_CHECK(ours.is_discarded() == theirs.is_discarded());
  // The trees are compared with nlohmann's recursive dump(): only where
  // that cannot run out of stack under ASan.
  if (!ours.is_discarded() && !tollgate::engine::text_nested_deeper_than(bytes, 256)) {
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
