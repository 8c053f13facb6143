// End-to-end fixtures: a real engine (policy file, SQLite ledger) whose
// providers all point at the in-process mock provider on loopback.
#pragma once

#include <memory>
#include <string>

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include "mock/mock_server.hpp"
#include "engine/engine_impl.hpp"
#include "engine_support.hpp"

namespace tollgate::testing {

struct MockedEngine {
  TempDir dir;
  std::unique_ptr<adapters::MockServer> mock;
  std::unique_ptr<engine::EngineImpl> engine;
  std::string ledger_path;

  explicit MockedEngine(const std::string& policy, Options opts = {}, bool with_ledger = true) {
    adapters::MockServerOptions mo;
    mo.threads = 2;
    mo.default_behavior.reply = "The quick brown fox jumps over the lazy dog.";
    auto m = adapters::MockServer::start(mo);
    if (!m) FAIL("mock: " << m.error());
    mock = std::move(*m);
    opts.policy_paths = {dir.write("policy.lua", policy)};
    opts.base_url_overrides["*"] = mock->base_url();
    if (opts.threads == 0) opts.threads = 2;  // 1: the engine's one I/O thread, no strands
    opts.retry.base_backoff_ms = 1;  // retries in tests need not wait long
    opts.retry.max_backoff_ms = 5;
    if (with_ledger && opts.ledger_path.empty()) opts.ledger_path = dir.file("ledger.db");
    ledger_path = opts.ledger_path;
    restart(opts);
  }

  // Through the public interface, as an embedder sees it (default arguments).
  Engine& api() { return *engine; }

  void restart(Options opts) {
    engine.reset();
    auto e = Engine::create(opts);
    if (!e.ok()) FAIL(e.error().what());
    engine.reset(static_cast<engine::EngineImpl*>(e->release()));
  }

  // A number from the ledger (the first column of the first row).
  int64_t ledger_int(const std::string& sql) const {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(ledger_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
    int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
  }
};

inline adapters::MockBehavior fault(adapters::MockFault f, int64_t times = -1) {
  adapters::MockBehavior b;
  b.reply = "fallback answer";
  b.fault = f;
  b.fail_times = times;
  return b;
}

}  // namespace tollgate::testing
