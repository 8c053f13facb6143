// Helpers shared by the ledger tests: row builders and a raw SQLite view of
// the file (TempDir and eventually() come from test_support.hpp).
#pragma once

#include <sqlite3.h>

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "engine/ledger/ledger_row.hpp"
#include "tollgate/error.hpp"
#include "test_support.hpp"

namespace tollgate::testing {

inline engine::LedgerRow make_row(const std::string& request_id, int64_t time_ms, Money cost,
                                  const std::string& team = "support") {
  engine::LedgerRow r;
  r.request_id = request_id;
  r.time_ms = time_ms;
  r.team = team;
  r.user = "ann";
  r.tags_json = R"({"task":"classify"})";
  r.task = "classify";
  r.route = "classify";
  r.provider = "deepseek";
  r.model = "deepseek-v4-flash";
  r.status = engine::AttemptStatus::ok;
  r.input_tokens = 1200;
  r.cached_input_tokens = 200;
  r.output_tokens = 300;
  r.cost = cost;
  r.latency_ms = 420;
  r.ttft_ms = 90;
  return r;
}

// What a ledger reports through LedgerOptions::on_error, which it calls on
// its writer thread. Must outlive the ledger.
class ErrorLog {
 public:
  std::function<void(const Error&)> handler() {
    return [this](const Error& e) {
      std::lock_guard lock(mu_);
      messages_.push_back(e.message());
    };
  }
  std::vector<std::string> messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> messages_;
};

// A plain SQLite connection for checking what the ledger wrote.
class RawDb {
 public:
  explicit RawDb(const std::string& path) { sqlite3_open(path.c_str(), &db_); }
  ~RawDb() { sqlite3_close(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  int64_t integer(const std::string& sql) const {
    sqlite3_stmt* s = nullptr;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
      v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
  }
  std::string text(const std::string& sql) const {
    sqlite3_stmt* s = nullptr;
    std::string v;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
      v = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return v;
  }
  // EXPLAIN QUERY PLAN's details, one line per step.
  std::string plan(const std::string& sql) const {
    sqlite3_stmt* s = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db_, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &s, nullptr) == SQLITE_OK) {
      while (sqlite3_step(s) == SQLITE_ROW)
        out.append(reinterpret_cast<const char*>(sqlite3_column_text(s, 3))).append("\n");
    }
    sqlite3_finalize(s);
    return out;
  }
  int exec(const std::string& sql) { return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr); }
  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace tollgate::testing
