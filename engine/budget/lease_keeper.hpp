// The keeper of this instance's budget leases: the thread that talks to the
// lease store (engine/budget/lease_store.hpp) for the spend gate.
//
// The gate admits reservations against the leases it holds, in memory. The
// keeper keeps those leases fed, off the request path:
// - a reservation its lease cannot cover asks top_up(), which waits for one
//   round trip to the store (the request waits on it, not a thread);
// - every tick it tops up a cap whose free lease runs low against recent
//   demand, and gives back what runs far above it, so headroom an instance
//   does not need flows to the instances that do (near the cap the store
//   also cuts every slice to a quarter of what is free);
// - it renews its leases well within their TTL, so they lapse only when
//   this process dies (SIGKILL, a lost machine), and the others then get
//   the headroom after the TTL;
// - release_all() returns them at a clean stop, once the ledger's rows are
//   committed (a row's commit moves its cost from the lease to settled).
//
// Thread-safety: top_up and release_all may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/budget/lease_store.hpp"
#include "engine/budget/spend_gate.hpp"

namespace tollgate::engine {

struct LeaseKeeperOptions {
  // How long a lease lives unrenewed: how soon a dead instance's headroom
  // returns to the others. Default: 10 s.
  int64_t ttl_ms = 10'000;
  // How often leases are topped up or given back. Default: 50 ms.
  int64_t tick_ms = 50;
  std::function<int64_t()> now_ms;  // unix ms; required
};

class LeaseKeeper {
 public:
  // Starts the keeper's thread. `gate` must outlive it; the gate's leases
  // are enabled here.
  LeaseKeeper(SpendGate& gate, std::unique_ptr<LeaseStore> store, std::string holder, LeaseKeeperOptions options);
  ~LeaseKeeper();  // stops the thread; does not give the leases back
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // Asks the store for what `needs` lack. `done` runs once, on the keeper's
  // thread, with whether every need was granted; keep it short.
  void top_up(std::vector<LeaseShortfall> needs, std::function<void(bool covered)> done);

  // Gives every lease back and stops renewing. Call after the ledger has
  // committed this instance's rows.
  Result<void> release_all();

  // This instance's id in the store (written with its ledger rows).
  const std::string& holder() const { return holder_; }

  // The last error the store gave, empty when the last call worked.
  std::string last_error() const;

 private:
  struct Request {
    std::vector<LeaseShortfall> needs;
    std::function<void(bool)> done;
  };

  void run();
  bool grant(const LeaseSlot& slot, int64_t want, int64_t need, int64_t now);
  void rebalance(int64_t now);
  void note(const Result<void>& r);

  SpendGate& gate_;
  std::unique_ptr<LeaseStore> store_;  // the keeper's thread only
  const std::string holder_;
  const LeaseKeeperOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Request> requests_;  // guarded by mu_
  bool stopping_ = false;         // guarded by mu_
  bool released_ = false;         // guarded by mu_
  std::string last_error_;        // guarded by mu_

  // The keeper's thread only: recent demand per cap (decays each tick), and
  // when the leases were last renewed.
  std::map<SpendCounter*, int64_t> demand_;
  int64_t renewed_ms_ = 0;

  std::thread thread_;  // last: starts once the rest is built
};

// A new holder id: unique across processes and machines sharing a store.
std::string new_lease_holder_id();

}  // namespace tollgate::engine
