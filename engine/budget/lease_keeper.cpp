#include "engine/budget/lease_keeper.hpp"

#include <algorithm>
#include <cstdio>
#include <random>
#include <tuple>
#include <unistd.h>

namespace tollgate::engine {
namespace {

// A lease is trusted locally for three quarters of its TTL: a renewal that
// is late by up to a quarter still finds it alive in the store.
int64_t trusted_until(int64_t now_ms, int64_t ttl_ms) { return now_ms + ttl_ms * 3 / 4; }

using LeaseKey = std::tuple<CapScope, std::string, std::string, SpendWindow, int64_t>;

}  // namespace

std::string new_lease_holder_id() {
  std::random_device rd;
  const uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  char buf[48];
  std::snprintf(buf, sizeof buf, "h-%d-%016llx", static_cast<int>(::getpid()), static_cast<unsigned long long>(r));
  return buf;
}

LeaseKeeper::LeaseKeeper(SpendGate& gate, std::unique_ptr<LeaseStore> store, std::string holder,
                         LeaseKeeperOptions options)
    : gate_(gate), store_(std::move(store)), holder_(std::move(holder)), options_(std::move(options)) {
  gate_.enable_leases(options_.ttl_ms);
  renewed_ms_ = options_.now_ms();
  thread_ = std::thread([this] { run(); });
}

LeaseKeeper::~LeaseKeeper() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();  // release_all() may have joined it
  // Requests still queued are answered: their callers must not wait forever.
  for (Request& r : requests_) r.done(false);
}

void LeaseKeeper::top_up(std::vector<LeaseShortfall> needs, std::function<void(bool)> done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_ && !released_) {
      requests_.push_back(Request{std::move(needs), std::move(done)});
      cv_.notify_all();
      return;
    }
  }
  done(false);
}

Result<void> LeaseKeeper::release_all() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    released_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (Request& r : requests_) r.done(false);
  requests_.clear();
  return store_->release_all(holder_);
}

std::string LeaseKeeper::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

void LeaseKeeper::note(const Result<void>& r) {
  std::lock_guard lock(mu_);
  last_error_ = r.ok() ? std::string() : r.error().message();
}

bool LeaseKeeper::grant(const LeaseSlot& slot, int64_t want, int64_t need, int64_t now) {
  const CapRef cap = CapRef::at(slot.scope, slot.team, slot.name, slot.window, slot.cap_nanos, now);
  auto g = store_->grant(cap, holder_, want, need, now, options_.ttl_ms);
  if (!g.ok()) {
    note(g.error());
    return false;
  }
  note({});
  gate_.grant_lease(slot.counter, g->granted_nanos, g->holder_nanos, now, trusted_until(now, options_.ttl_ms));
  gate_.note_fleet_figures(slot.counter, g->settled_nanos, g->leased_nanos);
  return g->granted_nanos >= need;
}

// Each cap's free lease is kept between two and eight times its recent
// demand (the largest reservation lately, decaying by an eighth a tick): a
// burst is admitted in memory, and an idle cap's lease drains back to the
// store for the others.
void LeaseKeeper::rebalance(int64_t now) {
  const bool renew = now - renewed_ms_ >= options_.ttl_ms / 3;
  std::map<LeaseKey, SpendCounter*> by_key;
  for (const LeaseSlot& slot : gate_.lease_slots(now)) {
    int64_t& d = demand_[slot.counter];
    d = std::max(slot.demand_nanos, d - d / 8);
    const int64_t free = slot.lease_nanos - slot.reserved_nanos;
    const int64_t low = 2 * d, target = 8 * d;
    if (d > 0 && free < low) {
      grant(slot, target - free, 0, now);
    } else if (free > 2 * target) {
      const int64_t back = gate_.take_back_lease(slot.counter, free - target);
      if (back > 0) {
        const CapRef cap = CapRef::at(slot.scope, slot.team, slot.name, slot.window, slot.cap_nanos, now);
        note(store_->give_back(cap, holder_, back));
      }
    }
    if (renew) {
      const CapRef cap = CapRef::at(slot.scope, slot.team, slot.name, slot.window, slot.cap_nanos, now);
      by_key.emplace(LeaseKey{slot.scope, slot.team, slot.name, slot.window, cap.window_id}, slot.counter);
    }
  }
  if (!renew) return;
  auto held = store_->renew(holder_, now, options_.ttl_ms);
  if (!held.ok()) {
    note(held.error());
    return;  // the local trust runs out on its own if the store stays away
  }
  note({});
  renewed_ms_ = now;
  const int64_t until = trusted_until(now, options_.ttl_ms);
  for (const HeldLease& h : *held) {
    auto it = by_key.find(LeaseKey{h.scope, h.team, h.name, h.window, h.window_id});
    if (it == by_key.end()) continue;
    gate_.renew_lease(it->second, h.amount_nanos, until);
    by_key.erase(it);
  }
  // What the store no longer lists lapsed there: none of it is ours now.
  for (const auto& [key, counter] : by_key) gate_.renew_lease(counter, 0, until);
}

void LeaseKeeper::run() {
  int64_t last_tick = options_.now_ms();
  for (;;) {
    std::deque<Request> batch;
    {
      std::unique_lock lock(mu_);
      // The tick paces the keeper's own work; requests wake it at once.
      cv_.wait_for(lock, std::chrono::milliseconds(options_.tick_ms),
                   [&] { return stopping_ || !requests_.empty(); });
      if (stopping_) return;
      batch.swap(requests_);
    }
    const int64_t now = options_.now_ms();
    for (Request& r : batch) {
      bool covered = true;
      for (const LeaseShortfall& need : r.needs) {
        const LeaseSlot slot = gate_.lease_slot(need.counter, now);
        if (!slot.counter) continue;  // no longer capped (a reload): nothing to cover
        const int64_t want = std::max(need.nanos, 8 * std::max(slot.demand_nanos, need.nanos));
        covered = grant(slot, want, need.nanos, now) && covered;
      }
      r.done(covered);
    }
    if (now - last_tick >= options_.tick_ms) {
      last_tick = now;
      rebalance(now);
    }
  }
}

}  // namespace tollgate::engine
