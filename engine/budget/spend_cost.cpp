#include "engine/budget/spend_cost.hpp"

#include <algorithm>

namespace tollgate::engine {

UsageCost usage_cost(const ModelInfo& model, int64_t input_tokens, int64_t cached_input_tokens,
                     int64_t output_tokens) {
  input_tokens = std::max<int64_t>(0, input_tokens);
  const int64_t cached = std::clamp<int64_t>(cached_input_tokens, 0, input_tokens);
  const Price cached_price = model.cached_or_input();
  UsageCost out;
  out.cost = cost_of(input_tokens - cached, model.input, cached, cached_price, output_tokens,
                     model.output);
  const Money full = cost_of(input_tokens, model.input, 0, cached_price, output_tokens,
                             model.output);
  out.saved = std::max(Money{}, full - out.cost);
  return out;
}

Money worst_case_cost(const ModelInfo& model, int64_t input_tokens, int64_t max_output) {
  return cost_of(input_tokens, model.input, 0, model.cached_or_input(), max_output, model.output);
}

}  // namespace tollgate::engine
