// Ledger -> SpendGate at start: a restart must not reset a cap.
#include <string>

#include "engine/ledger/ledger.hpp"
#include "engine/ledger/ledger_sqlite.hpp"
#include "engine/budget/spend_gate.hpp"

namespace tollgate::engine {

Result<int64_t> Ledger::rebuild_spend(SpendGate& gate, int64_t now_ms) const {
  // Its own read connection: WAL lets it read while the writer commits.
  auto db = sql::Db::open(path(), sql::Db::Mode::read_only, 5000);
  if (!db) return db.error();
  // One read transaction, so the last id and the rows are the same
  // snapshot: a row committed after it is follow_foreign_spend's, once.
  if (auto begin = db->exec("BEGIN"); !begin) return begin.error();
  auto last = db->query_int("SELECT coalesce(max(id), 0) FROM attempts");
  if (!last) return last.error();
  // An index-only range scan of the covering partial index attempts_spend
  // (migration 2), in time order; the gate sums in memory. Summing in SQL
  // (GROUP BY hour and keys) sorts every row first and was slower.
  auto q = db->prepare(
      "SELECT team, user, route, provider, ts_ms, cost_nanos FROM attempts "
      "WHERE ts_ms >= ?1 AND cost_nanos != 0");
  if (!q) return q.error();
  q->bind(1, gate.rebuild_since(now_ms));
  for (;;) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    const SpendKeys keys{q->text_at(0), q->text_at(1), q->text_at(2), q->text_at(3)};
    gate.add_settled(keys, Money::from_nanos(q->int_at(5)), q->int_at(4));
  }
  q->reset();
  if (auto end = db->exec("COMMIT"); !end) return end.error();
  return *last;
}

}  // namespace tollgate::engine
