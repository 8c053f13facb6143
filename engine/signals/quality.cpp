#include "engine/signals/quality.hpp"

#include <algorithm>
#include <mutex>

namespace tollgate::engine {

// One (model, task): a ring of time slices. Slice k of the ring holds the
// measurements whose time / slice_ms ≡ k (mod slices), tagged with that
// slice id so a stale slot is recognised and cleared on reuse.
struct QualityBoard::Series {
  struct Slice {
    int64_t id = -1;
    double score_sum = 0;
    int64_t scores = 0;
    int64_t attempts = 0;
    int64_t errors = 0;
    LatencyHistogram latency;
  };
  std::string model, task;
  std::vector<Slice> ring;
  bool dirty = false;

  Slice& at(int64_t slice_id) {
    Slice& s = ring[static_cast<size_t>(slice_id % static_cast<int64_t>(ring.size()))];
    if (s.id != slice_id) {
      if (s.id > slice_id) return discard_;  // older than the window: ignore
      s = Slice{};
      s.id = slice_id;
    }
    return s;
  }

  QualityStats summary(int64_t now_slice) const {
    QualityStats out;
    double sum = 0;
    int64_t errors = 0;
    LatencyHistogram latency;
    const auto n = static_cast<int64_t>(ring.size());
    for (const Slice& s : ring) {
      if (s.id < 0 || s.id <= now_slice - n || s.id > now_slice) continue;
      sum += s.score_sum;
      out.count += s.scores;
      out.attempts += s.attempts;
      errors += s.errors;
      latency.merge(s.latency);
    }
    if (out.count > 0) out.mean = sum / static_cast<double>(out.count);
    if (out.attempts > 0)
      out.error_rate = static_cast<double>(errors) / static_cast<double>(out.attempts);
    out.p50_ms = latency.percentile(0.50);
    out.p95_ms = latency.percentile(0.95);
    return out;
  }

  Slice discard_;
};

QualityBoard::QualityBoard(QualityOptions options)
    : options_(options),
      slice_ms_(std::max<int64_t>(1, options.window_ms / std::max(1, options.slices))) {
  options_.slices = std::max(1, options_.slices);
}

QualityBoard::~QualityBoard() = default;

QualityStats QualityBoard::get(std::string_view model, std::string_view task) const {
  std::shared_lock lock(mu_);
  auto m = published_.find(model);
  if (m == published_.end()) return {};
  auto t = m->second.find(task);
  return t == m->second.end() ? QualityStats{} : t->second;
}

QualityBoard::Series& QualityBoard::series(std::string_view model, std::string_view task) {
  auto m = raw_.find(model);
  if (m == raw_.end()) m = raw_.emplace(std::string(model), StrMap<std::unique_ptr<Series>>{}).first;
  auto t = m->second.find(task);
  if (t == m->second.end()) {
    auto s = std::make_unique<Series>();
    s->model = std::string(model);
    s->task = std::string(task);
    s->ring.resize(static_cast<size_t>(options_.slices));
    t = m->second.emplace(std::string(task), std::move(s)).first;
  }
  Series& s = *t->second;
  if (!s.dirty) {
    s.dirty = true;
    dirty_.push_back(&s);
  }
  return s;
}

void QualityBoard::add_attempt(std::string_view model, std::string_view task, int64_t time_ms,
                               bool failed, int64_t latency_ms) {
  auto& slice = series(model, task).at(std::max<int64_t>(0, time_ms) / slice_ms_);
  ++slice.attempts;
  if (failed) {
    ++slice.errors;
  } else if (latency_ms >= 0) {
    slice.latency.add(latency_ms);
  }
}

void QualityBoard::add_score(std::string_view model, std::string_view task, int64_t time_ms,
                             double score) {
  auto& slice = series(model, task).at(std::max<int64_t>(0, time_ms) / slice_ms_);
  slice.score_sum += score;
  ++slice.scores;
}

void QualityBoard::publish(int64_t now_ms) {
  const int64_t now_slice = std::max<int64_t>(0, now_ms) / slice_ms_;
  // A slice aged out: every pair's figures may have changed, not just the
  // ones written to.
  const bool all = now_slice != published_slice_;
  if (!all && dirty_.empty()) return;
  std::vector<std::pair<Series*, QualityStats>> fresh;
  if (all) {
    for (auto& [model, tasks] : raw_)
      for (auto& [task, s] : tasks) fresh.emplace_back(s.get(), s->summary(now_slice));
  } else {
    for (Series* s : dirty_) fresh.emplace_back(s, s->summary(now_slice));
  }
  for (Series* s : dirty_) s->dirty = false;
  dirty_.clear();
  published_slice_ = now_slice;

  std::unique_lock lock(mu_);
  for (auto& [s, stats] : fresh) {
    auto m = published_.find(s->model);
    if (m == published_.end()) m = published_.emplace(s->model, StrMap<QualityStats>{}).first;
    m->second.insert_or_assign(s->task, stats);
  }
}

}  // namespace tollgate::engine
