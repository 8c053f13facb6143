#include "engine/signals/quality_histogram.hpp"

#include <algorithm>
#include <cmath>

namespace tollgate::engine {
namespace {

int bucket_of(int64_t ms) {
  if (ms <= 0) return 0;
  const int b = 1 + static_cast<int>(std::floor(std::log2(static_cast<double>(ms)) *
                                                LatencyHistogram::kBucketsPerDoubling));
  return std::min(b, LatencyHistogram::kBuckets - 1);
}

// Lower bound of bucket b >= 1, in ms.
double lower_of(int b) {
  return std::exp2(static_cast<double>(b - 1) / LatencyHistogram::kBucketsPerDoubling);
}

}  // namespace

void LatencyHistogram::add(int64_t latency_ms, uint32_t n) {
  counts_[static_cast<size_t>(bucket_of(latency_ms))] += n;
  total_ += n;
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
}

int64_t LatencyHistogram::percentile(double q) const {
  if (total_ == 0) return -1;
  q = std::clamp(q, 0.0, 1.0);
  // The smallest bucket whose cumulative count reaches ceil(q * total).
  const auto rank = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(q * static_cast<double>(total_))));
  int64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += counts_[static_cast<size_t>(b)];
    if (seen >= rank) {
      if (b == 0) return 0;
      return std::llround(std::sqrt(lower_of(b) * lower_of(b + 1)));
    }
  }
  return std::llround(lower_of(kBuckets));
}

}  // namespace tollgate::engine
