// The decision: which route matches a request and which candidates it may
// try, in order, with the reason for every route and candidate considered.
//
// The declarative path (table `when`, `try` lists) runs without heap
// allocation once `out`'s vectors have grown: names are string_views into
// the policy set, reasons are enums. Lua is entered only for functions the
// author wrote.
#pragma once

#include <memory>

#include "engine/routing/policy_set.hpp"
#include "engine/signals/signals.hpp"
#include "tollgate/request.hpp"
#include "tollgate/result.hpp"

namespace tollgate::engine {

// Measured quality needs this many scores before it replaces the author's
// prior (`model "x" { quality = ... }`) in min_quality checks.
constexpr int64_t kMinQualitySamples = 20;

struct DecideOptions {
  // Decide for this route only (a budget downgrade), skipping `when`.
  const CompiledRoute* forced_route = nullptr;
  // Decide as if every provider were healthy. The engine's second look at a
  // request that only open circuits kept from a route (an `unavailable`
  // error): the caps and the cache still get their say, and dispatch,
  // which skips open circuits itself, says how long they stay open.
  bool ignore_health = false;
};

// No route taken is a `policy` error, or `unavailable` when a candidate
// that met every other condition was skipped only because its provider's
// circuit is open: it, and so a route, is usable again once that closes.
Result<void> decide(const std::shared_ptr<const PolicySet>& set, const Signals& signals,
                    const Request& request, Decision& out, DecideOptions opts = {});

// The request's input tokens (given, or estimated) and its output cap
// (request field, else body max_tokens / max_completion_tokens; 0: unset).
int64_t input_tokens_of(const Request& request);
int64_t max_tokens_of(const Request& request);

}  // namespace tollgate::engine
