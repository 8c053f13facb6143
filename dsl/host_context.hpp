// What a policy function can ask about the world, and what it is told about
// the request. The engine implements HostContext over the catalog, the
// ledger's aggregates, the spend gate and the circuit breakers; tests use a
// double. Every method is called on the evaluating thread and must not block.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "tollgate/request.hpp"

namespace tollgate::dsl {

struct QualityStats {
  double mean = 0;       // mean score in [0, 1]
  int64_t count = 0;     // scores behind the mean
  double error_rate = 0; // failed attempts / attempts
  double p50_ms = 0, p95_ms = 0;
};

struct SpendStats {
  int64_t spent_nanos = 0;
  int64_t reserved_nanos = 0;  // held by requests in flight
  int64_t cap_nanos = -1;      // -1: no cap on this window
};

struct ModelFacts {
  std::string_view provider;
  double input_usd_mtok = -1, cached_input_usd_mtok = -1, output_usd_mtok = -1;  // -1: unknown
  int64_t context_window = 0, max_output = 0;  // 0: unknown
};

class HostContext {
 public:
  virtual ~HostContext() = default;
  virtual std::optional<QualityStats> quality(std::string_view model, std::string_view task) const = 0;
  virtual bool healthy(std::string_view model) const = 0;
  virtual std::optional<SpendStats> spend(std::string_view team, std::string_view window) const = 0;
  virtual std::optional<ModelFacts> model(std::string_view id) const = 0;
  // Worst-case cost of the current request on `model`; -1 if it cannot be costed.
  virtual int64_t estimate_cost_nanos(std::string_view model) const = 0;
};

// The request as a policy function sees it (read-only).
struct RequestFacts {
  const Request* request = nullptr;
  int64_t input_tokens = 0;
  int64_t max_tokens = 0;  // 0: not set by the caller
  std::string_view task;   // the `task` tag, or the policy's default task
};

}  // namespace tollgate::dsl
