// Quality aggregates per (model, task): mean and count of scores, error
// rate, latency percentiles, over a sliding window; and the cost arithmetic
// the ledger rows carry.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "engine/signals/quality.hpp"
#include "engine/budget/spend_cost.hpp"

using namespace tollgate;
using namespace tollgate::engine;

namespace {
constexpr int64_t kHour = 3'600'000;
constexpr int64_t kT0 = 1'778'000'000'000 / kHour * kHour;  // on a slice boundary
}

TEST_CASE("latency percentiles land within one bucket of the truth") {
  LatencyHistogram h;
  CHECK(h.percentile(0.5) == -1);
  for (int ms = 1; ms <= 1000; ++ms) h.add(ms);
  CHECK(h.count() == 1000);
  // Buckets are a quarter of a doubling wide: within 19 % either side.
  CHECK(h.percentile(0.50) == Approx(500).epsilon(0.19));
  CHECK(h.percentile(0.95) == Approx(950).epsilon(0.19));
  CHECK(h.percentile(1.0) == Approx(1000).epsilon(0.19));
  LatencyHistogram zero;
  zero.add(0, 3);
  CHECK(zero.percentile(0.95) == 0);
  LatencyHistogram huge;
  huge.add(int64_t{1} << 40);
  CHECK(huge.percentile(0.5) > 1'000'000);  // clamped into the last bucket, not lost
}

TEST_CASE("the board reports mean, count, error rate and percentiles per model and task") {
  QualityBoard board(QualityOptions{24 * kHour, 24});
  CHECK(board.get("m", "classify").count == 0);
  CHECK(board.get("m", "classify").p50_ms == -1);
  for (int i = 0; i < 8; ++i) board.add_attempt("m", "classify", kT0, false, 100);
  for (int i = 0; i < 2; ++i) board.add_attempt("m", "classify", kT0, true, -1);
  board.add_score("m", "classify", kT0, 1.0);
  board.add_score("m", "classify", kT0, 0.5);
  board.add_score("m", "summarize", kT0, 0.2);
  // Nothing is visible before publish: readers see whole batches.
  CHECK(board.get("m", "classify").count == 0);
  board.publish(kT0);
  const QualityStats q = board.get("m", "classify");
  CHECK(q.count == 2);
  CHECK(q.mean == Approx(0.75));
  CHECK(q.attempts == 10);
  CHECK(q.error_rate == Approx(0.2));
  CHECK(q.p50_ms == Approx(100).epsilon(0.19));
  CHECK(q.p95_ms == Approx(100).epsilon(0.19));
  CHECK(board.get("m", "summarize").mean == Approx(0.2));
  CHECK(board.get("other", "classify").count == 0);
}

TEST_CASE("measurements age out of the window slice by slice") {
  QualityBoard board(QualityOptions{24 * kHour, 24});
  board.add_score("m", "t", kT0, 0.0);
  board.add_score("m", "t", kT0 + 12 * kHour, 1.0);
  board.publish(kT0 + 12 * kHour);
  CHECK(board.get("m", "t").count == 2);
  // Nothing new is written; time alone moves the window.
  board.publish(kT0 + 24 * kHour);
  CHECK(board.get("m", "t").count == 1);
  CHECK(board.get("m", "t").mean == Approx(1.0));
  board.publish(kT0 + 36 * kHour);
  CHECK(board.get("m", "t").count == 0);
  // A late measurement older than the window is ignored.
  board.add_score("m", "t", kT0, 0.3);
  board.publish(kT0 + 36 * kHour);
  CHECK(board.get("m", "t").count == 0);
}

TEST_CASE("readers on other threads see consistent figures while the writer publishes", "[concurrency]") {
  QualityBoard board;
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::thread reader([&] {
    while (!stop) {
      const QualityStats q = board.get("m", "t");
      // Every batch adds one score of 1.0 and one attempt: the two move together.
      if (q.count != q.attempts || (q.count > 0 && q.mean != 1.0)) ++torn;
    }
  });
  for (int i = 0; i < 2000; ++i) {
    board.add_score("m", "t", kT0, 1.0);
    board.add_attempt("m", "t", kT0, false, 50);
    board.publish(kT0);
  }
  stop = true;
  reader.join();
  CHECK(torn == 0);
  CHECK(board.get("m", "t").count == 2000);
}

TEST_CASE("cost charges cached input at its own price, once") {
  ModelInfo m;
  m.input = Price::from_usd_per_mtok(2.0);
  m.cached_input = Price::from_usd_per_mtok(0.5);
  m.output = Price::from_usd_per_mtok(8.0);
  // 1,000 prompt tokens of which 600 cached, 100 output:
  // 400 x $2/M + 600 x $0.5/M + 100 x $8/M = $0.0008 + $0.0003 + $0.0008.
  const UsageCost c = usage_cost(m, 1000, 600, 100);
  CHECK(c.cost == Money::from_usd(0.0019));
  CHECK(c.saved == Money::from_usd(0.0009));  // 600 x ($2 - $0.5) / M
  // No cache price in the catalog: cached tokens cost the full input price.
  ModelInfo plain = m;
  plain.cached_input = Price{};
  CHECK(usage_cost(plain, 1000, 600, 100).cost == Money::from_usd(0.0028));
  CHECK(usage_cost(plain, 1000, 600, 100).saved == Money{});
  // More cached than input is clamped: never a negative uncached count.
  CHECK(usage_cost(m, 100, 500, 0).cost == Money::from_usd(0.00005));
  // The worst case assumes nothing is cached.
  CHECK(worst_case_cost(m, 1000, 100) == Money::from_usd(0.0028));
}
