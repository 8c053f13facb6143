// Single-flight: identical requests in flight at once make one upstream call.
//
// join(key) makes the first caller the Leader; callers arriving before the
// leader completes become Followers of the same flight. The leader ends the
// flight one of three ways, and every follower receives that outcome:
//   complete(answer)  the answer is theirs too;
//   fail(error)       the upstream failed, and would fail them the same way
//                     (they asked the same providers at the same moment);
//   abandon()         the leader stopped for reasons of its own (its caller
//                     cancelled, its deadline passed, its cap refused it):
//                     followers receive a result with no answer (a null
//                     CachedPtr) and join() again, so one of them leads.
// Nothing is kept after completion: the next join() for the key starts a
// new flight (so insert into the ResponseCache *before* completing, or a
// request arriving in between would miss both).
//
// Errors reach only the followers waiting at that moment; they are never
// remembered. A Leader destroyed without ending its flight (an exception, a
// forgotten path) abandons it, so no one waits forever.
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

#include "engine/cache/cache_key.hpp"
#include "engine/cache/response_cache.hpp"
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
    ~Leader();  // abandons the flight if it has not ended

    // Ends the flight for every follower (see above). Call one, once.
    void complete(CachedPtr value);
    void fail(Error error);
    void abandon();

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
    // The leader's outcome (a null answer: abandoned, join again), or a
    // `timeout` error if `deadline` comes first.
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
  // Flights now in progress, and followers waiting on them through
  // on_complete() (for stats and tests).
  std::size_t in_flight() const;
  std::size_t waiting() const;

 private:
  void release(const CacheKey& key, const std::shared_ptr<Flight>& flight);

  mutable std::mutex mu_;
  std::unordered_map<CacheKey, std::shared_ptr<Flight>, CacheKeyHash> flights_;
};

}  // namespace tollgate::engine
