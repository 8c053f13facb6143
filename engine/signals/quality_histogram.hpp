// A latency histogram with logarithmic buckets, four per doubling.
//
// Fixed size and allocation-free, so the quality board can keep one per
// time slice per (model, task) and the report one per group. A percentile is
// exact to within one bucket (about 19 %), which is what routing on p95 and
// a bill's latency column need; the sample itself is never stored.
#pragma once

#include <array>
#include <cstdint>

namespace tollgate::engine {

class LatencyHistogram {
 public:
  static constexpr int kBucketsPerDoubling = 4;
  // Bucket 0 holds 0 ms; the last bucket holds everything from 2^20 ms
  // (about 17 minutes) up.
  static constexpr int kBuckets = 1 + 20 * kBucketsPerDoubling + 1;

  void add(int64_t latency_ms, uint32_t n = 1);
  void merge(const LatencyHistogram& other);
  void clear() { counts_.fill(0); total_ = 0; }
  int64_t count() const { return total_; }
  // The latency at quantile q in [0, 1], in whole milliseconds (the bucket's
  // geometric middle); -1 when empty.
  int64_t percentile(double q) const;

 private:
  std::array<uint32_t, kBuckets> counts_{};
  int64_t total_ = 0;
};

}  // namespace tollgate::engine
