// tollgate — how an Engine is configured. Every field has a default that
// works; each comment says what the trade-off is.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <map>
#include <vector>

#include "tollgate/error.hpp"

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

// Retries per candidate before falling back to the next.
struct RetryOptions {
  int max_attempts = 2;            // per candidate, the first try included; a provider's
                                   // max_retries in the policy overrides it (max_retries + 1)
  int64_t base_backoff_ms = 200;   // doubled per retry, with jitter
  int64_t max_backoff_ms = 5000;
  int64_t max_retry_after_ms = 10000;  // a longer Retry-After moves to the next candidate
};

enum class Durability {
  sync,   // a request is answered only after its ledger row is committed
  async,  // answered at once; rows commit within ~2 ms (group commit), so a
          // crash can lose the last few milliseconds of rows
};

struct Options {
  // Model catalog (JSON, see docs/catalog.md). Empty: the catalog built into
  // the library (prices as published in 2026; see engine/routing/default_catalog.json).
  std::string catalog_path;

  // Policy files, or directories whose *.lua files (not *_test.lua) are
  // loaded in name order. Required: an engine without a policy routes nothing.
  std::vector<std::string> policy_paths;

  // SQLite ledger file. Empty: no ledger: spend caps still hold in memory
  // (and reset on restart), nothing is written, no quality is measured.
  std::string ledger_path;
  Durability durability = Durability::sync;
  // Called when the ledger fails to write (a full disk, a lock another
  // process holds, the file gone), from the ledger's writer thread, about
  // once a second while the failure lasts; keep it short and do not call
  // the engine from it. The rows it could not write are kept in memory (up
  // to 65,536) and written once the file takes them again; rows still
  // refused when the engine closes are lost, and reported here. In async
  // durability this is where an embedder learns of the failure.
  std::function<void(const Error&)> on_ledger_error;

  // Caps shared by every process on the same ledger file: each cap's
  // headroom is leased from the ledger (docs/ledger.md, "Shared caps"), so
  // settled plus reserved across all of them never passes a cap. Needs
  // ledger_path. Off: each process holds its caps alone, counting the
  // others' spend only once their rows commit. Default: off.
  bool shared_caps = false;
  // How long a lease lives unrenewed: how soon a killed process's unspent
  // headroom returns to the others. Default: 10 s.
  int64_t lease_ttl_ms = 10'000;

  // API keys by provider name. A key given here wins over the provider's
  // `key_env`. Keys are never logged, traced, cached or written anywhere.
  std::map<std::string, std::string> api_keys;

  // Replaces providers' base URLs by name ("*" for every provider): points a
  // test, a demo or a staging deployment at a local or mock endpoint.
  std::map<std::string, std::string> base_url_overrides;

  RetryOptions retry;

  // Response cache size, bytes; 0 disables the cache whatever the routes say.
  int64_t cache_bytes = 256 << 20;
  // Keep cache entries in the ledger database too, so a restart starts warm.
  bool cache_persist = false;

  // Threads the engine runs for its own network I/O when the embedder does
  // not lend it an executor. 0: one per core.
  unsigned threads = 0;

  PolicyLimits policy_limits;
};

}  // namespace tollgate
