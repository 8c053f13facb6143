// Single-flight: identical requests in flight at once make one upstream call.
//
// join(key) makes the first caller the Leader; callers arriving before the
// leader completes become Followers of the same flight. The leader calls
// complete() with the answer or fail() with an error, and every follower
// receives that outcome. Nothing is kept after completion: the next join()
// for the key starts a new flight (so insert into the ResponseCache *before*
// completing, or a request arriving in between would miss both).
//
// Errors reach only the followers waiting at that moment; they are never
// remembered. A Leader destroyed without completing (an exception, a
// forgotten path) fails its followers with an `internal` error, so no one
// waits forever.
//
// Followers can wait two ways: wait_until(deadline) blocks the calling thread
// (a deadline that passes first yields a `timeout` error; the flight goes
// on), and on_complete(callback) for async code that must not block an I/O
// thread. Callbacks run on the thread that completes the leader (or, if the
// flight has already completed, at once on the caller's thread), outside any
// lock; keep them short (post to an executor).
//
// Thread safety: SingleFlight's members may be called from any thread.
// A Leader or Follower is owned by one thread at a time (move it freely).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <variant>

#include "engine/cache_key.hpp"
#include "engine/response_cache.hpp"
#include "tollgate/error.hpp"

namespace tollgate::engine {

using FlightResult = Result<CachedPtr>;

class SingleFlight {
  struct Flight;

 public:
  class Leader {
   public:
    Leader(Leader&&) noexcept = default;
    Leader& operator=(Leader&&) noexcept;
    Leader(const Leader&) = delete;
    Leader& operator=(const Leader&) = delete;
    ~Leader();  // fails the flight if neither complete() nor fail() ran

    // Hands the answer to every follower. Call at most once (either).
    void complete(CachedPtr value);
    void fail(Error error);

   private:
    friend class SingleFlight;
    Leader(SingleFlight* owner, CacheKey key, std::shared_ptr<Flight> flight)
        : owner_(owner), key_(key), flight_(std::move(flight)) {}
    void finish(FlightResult result);
    SingleFlight* owner_ = nullptr;
    CacheKey key_;
    std::shared_ptr<Flight> flight_;
  };

  class Follower {
   public:
    // The leader's outcome, or a `timeout` error if `deadline` comes first.
    FlightResult wait_until(std::chrono::steady_clock::time_point deadline) const;
    // Calls `done` once with the leader's outcome (see the header comment
    // for the thread it runs on). A caller with its own deadline races it
    // against that deadline and ignores whichever comes second.
    void on_complete(std::function<void(const FlightResult&)> done) const;

   private:
    friend class SingleFlight;
    explicit Follower(std::shared_ptr<Flight> flight) : flight_(std::move(flight)) {}
    std::shared_ptr<Flight> flight_;
  };

  SingleFlight();
  SingleFlight(const SingleFlight&) = delete;
  SingleFlight& operator=(const SingleFlight&) = delete;
  // REQUIRES: no Leader outlives the SingleFlight.
  ~SingleFlight();

  std::variant<Leader, Follower> join(const CacheKey& key);
  // Flights now in progress (for stats and tests).
  std::size_t in_flight() const;

 private:
  void release(const CacheKey& key, const std::shared_ptr<Flight>& flight);

  mutable std::mutex mu_;
  std::unordered_map<CacheKey, std::shared_ptr<Flight>, CacheKeyHash> flights_;
};

}  // namespace tollgate::engine
