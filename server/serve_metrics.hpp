// `tollgate serve`: the Prometheus metrics behind GET /metrics. Counters of
// requests (by HTTP status), tokens, cost, savings and cache hits per team,
// route and model; request latency histograms per route and model.
//
// Label sets are bounded: teams come from the keys file, routes from the
// policy, models from the catalog, statuses from a short list; past
// kMaxSeries label sets, new ones are counted under team/route/model
// "other" so a misbehaving input cannot grow memory without end.
// Thread-safe; record() takes one short lock.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "tollgate/money.hpp"

namespace tollgate::tools {

struct MetricSample {
  std::string_view team, route, model;  // empty: not known (refused before routing)
  int status = 200;
  bool cache_hit = false;
  int64_t input_tokens = 0, cached_input_tokens = 0, output_tokens = 0;
  Money cost, saved;
  double seconds = 0;  // whole request, as the gateway saw it
};

class Metrics {
 public:
  static constexpr std::size_t kMaxSeries = 4096;
  // Upper bounds of the latency buckets, seconds (+Inf implied).
  static constexpr std::array<double, 14> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                      0.25,  0.5,    1,     2.5,  5,     10,  30};

  void record(const MetricSample& s);
  // The Prometheus text exposition (version 0.0.4).
  std::string render() const;

 private:
  struct Series {
    std::map<int, int64_t> requests;  // by HTTP status
    int64_t input = 0, cached = 0, output = 0, hits = 0;
    Money cost, saved;
  };
  struct Histogram {
    std::array<int64_t, kBuckets.size() + 1> counts{};  // the last is +Inf
    int64_t sum_ns = 0;  // an integer: the sum prints as what was counted
    int64_t count = 0;
  };
  mutable std::mutex mu_;
  // Keys are the label values joined by '\n' (which labels never contain
  // unescaped): team, route, model / route, model.
  std::map<std::string, Series, std::less<>> series_;
  std::map<std::string, Histogram, std::less<>> latency_;
};

// Prometheus label value escaping: backslash, double quote, newline.
std::string prom_escape(std::string_view value);

// A count of billionths (nano-dollars, nanoseconds) as the exact decimal of
// its unit, nine places: 45'500 is "0.000045500", -1 is "-0.000000001".
// Integer arithmetic all the way, so no binary fraction blurs it, however
// large: what the gateway prints for money and time sums.
std::string decimal_nanos(int64_t nanos);

}  // namespace tollgate::tools
