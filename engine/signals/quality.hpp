// Measured quality per (model, task): what `min_quality` and policy
// functions read on the request path.
//
// The ledger's writer thread feeds every committed attempt and score in;
// readers on any thread get the last published summary without touching
// SQL. Figures cover a sliding window (default 7 days) kept as time slices,
// so old measurements age out without storing samples.
//
// Thread-safety: get() may be called from any thread at any time (a shared
// lock over a small map). add_*() and publish() are for one thread only —
// the ledger's writer, or the thread rebuilding at start before any reader.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/signals/quality_histogram.hpp"

namespace tollgate::engine {

struct QualityStats {
  double mean = 0;         // mean score in [0, 1]; 0 when count == 0
  int64_t count = 0;       // scores recorded in the window
  int64_t attempts = 0;    // attempts in the window (ok + error)
  double error_rate = 0;   // failed attempts / attempts; 0 with no attempts
  int64_t p50_ms = -1;     // latency of successful attempts; -1 with none
  int64_t p95_ms = -1;
};

struct QualityOptions {
  // How far back the figures reach. Default: 7 days — long enough to hold
  // scores that trickle in from reviews, short enough to notice a model
  // that changed under the same name.
  int64_t window_ms = 7LL * 24 * 3600 * 1000;
  // The window is kept as this many slices; measurements leave a slice at a
  // time. Default 28 (6-hour slices for a 7-day window). More slices: a
  // smoother window, more memory per (model, task).
  int slices = 28;
};

class QualityBoard {
 public:
  explicit QualityBoard(QualityOptions options = {});
  QualityBoard(const QualityBoard&) = delete;
  QualityBoard& operator=(const QualityBoard&) = delete;
  ~QualityBoard();

  // Any thread. The figures as of the last publish(); all zero (count 0,
  // p50 -1) for a pair never measured.
  QualityStats get(std::string_view model, std::string_view task) const;

  // Writer thread only. An attempt that reached a provider: `failed` when it
  // ended in error; latency_ms < 0 when unknown.
  void add_attempt(std::string_view model, std::string_view task, int64_t time_ms, bool failed,
                   int64_t latency_ms);
  void add_score(std::string_view model, std::string_view task, int64_t time_ms, double score);
  // Recomputes what changed (and everything when a slice aged out since the
  // last call) and makes it visible to get().
  void publish(int64_t now_ms);

 private:
  struct Series;
  Series& series(std::string_view model, std::string_view task);

  struct StrHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  template <typename V>
  using StrMap = std::unordered_map<std::string, V, StrHash, std::equal_to<>>;

  QualityOptions options_;
  int64_t slice_ms_;
  // Writer-private raw measurements, by model then task.
  StrMap<StrMap<std::unique_ptr<Series>>> raw_;
  std::vector<Series*> dirty_;
  int64_t published_slice_ = -1;

  mutable std::shared_mutex mu_;
  StrMap<StrMap<QualityStats>> published_;  // guarded by mu_
};

}  // namespace tollgate::engine
