// A request's cost from the provider's reported usage.
//
// Uncached input, cached input and output are each charged at their catalog
// price; cached tokens are a part of the input, never charged on top of it
// (the "cached tokens charged twice" bug). A streamed request reports the
// same usage as the equivalent non-streamed one and so costs the same: the
// cost depends on the token counts alone.
#pragma once

#include <cstdint>

#include "engine/routing/catalog.hpp"
#include "tollgate/money.hpp"

namespace tollgate::engine {

struct UsageCost {
  Money cost;   // what the provider bills
  Money saved;  // what the provider's prompt cache took off the uncached price
};

// input_tokens counts every prompt token including the cached ones (OpenAI's
// prompt_tokens; Anthropic's input + cache_read tokens); cached_input_tokens
// is clamped to [0, input_tokens].
UsageCost usage_cost(const ModelInfo& model, int64_t input_tokens, int64_t cached_input_tokens,
                     int64_t output_tokens);

// Worst case before dispatch: every input token uncached plus `max_output`
// tokens of output. What a request reserves against its caps.
Money worst_case_cost(const ModelInfo& model, int64_t input_tokens, int64_t max_output);

}  // namespace tollgate::engine
