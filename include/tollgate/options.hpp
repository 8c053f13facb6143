// tollgate — how an Engine is configured. Every field has a default that
// works; each comment says what the trade-off is.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tollgate {

// Limits on one evaluation of a policy function (a `when`, a `select`).
struct PolicyLimits {
  // Lua VM instructions one evaluation may run before it is stopped with a
  // policy error. Default: 1,000,000 (a few milliseconds). Raise it only for
  // policies that genuinely loop over large tables.
  int64_t instruction_budget = 1'000'000;
  // Bytes one evaluation may allocate on top of what the policy held before
  // it ran. Default: 8 MiB. The same cap, applied to the whole state, bounds
  // what loading a policy file may allocate (times 8).
  int64_t memory_limit_bytes = 8 << 20;
};

struct Options {
  // Model catalog (JSON, see docs/catalog.md). Empty: the catalog built into
  // the library (prices as published in 2026; see engine/default_catalog.json).
  std::string catalog_path;

  // Policy files, or directories whose *.lua files (not *_test.lua) are
  // loaded in name order. Required: an engine without a policy routes nothing.
  std::vector<std::string> policy_paths;

  // SQLite ledger file. Empty: no ledger (decisions only; nothing is billed).
  std::string ledger_path;

  // Threads the engine runs for its own network I/O when the embedder does
  // not lend it an executor. 0: one per core.
  unsigned threads = 0;

  PolicyLimits policy_limits;
};

}  // namespace tollgate
