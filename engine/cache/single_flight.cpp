#include "engine/cache/single_flight.hpp"

#include <condition_variable>
#include <optional>
#include <utility>
#include <vector>

namespace tollgate::engine {

struct SingleFlight::Flight {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<FlightResult> result;  // set once, then read-only
  std::vector<std::function<void(const FlightResult&)>> callbacks;
};

SingleFlight::SingleFlight() = default;
SingleFlight::~SingleFlight() = default;

std::variant<SingleFlight::Leader, SingleFlight::Follower> SingleFlight::join(const CacheKey& key) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = flights_.try_emplace(key);
  if (!inserted) return Follower(it->second);
  it->second = std::make_shared<Flight>();
  return Leader(this, key, it->second);
}

std::size_t SingleFlight::in_flight() const {
  std::lock_guard lock(mu_);
  return flights_.size();
}

std::size_t SingleFlight::waiting() const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const auto& [key, flight] : flights_) {
    std::lock_guard flight_lock(flight->mu);
    n += flight->callbacks.size();
  }
  return n;
}

void SingleFlight::release(const CacheKey& key, const std::shared_ptr<Flight>& flight) {
  std::lock_guard lock(mu_);
  auto it = flights_.find(key);
  if (it != flights_.end() && it->second == flight) flights_.erase(it);
}

SingleFlight::Leader& SingleFlight::Leader::operator=(Leader&& other) noexcept {
  if (this != &other) {
    abandon();
    owner_ = std::exchange(other.owner_, nullptr);
    key_ = other.key_;
    flight_ = std::move(other.flight_);
  }
  return *this;
}

SingleFlight::Leader::~Leader() { abandon(); }

void SingleFlight::Leader::abandon() { finish(FlightResult(CachedPtr())); }

void SingleFlight::Leader::complete(CachedPtr value) {
  if (!value) {
    finish(Error(ErrorCategory::internal, "single-flight leader completed without a value"));
    return;
  }
  finish(FlightResult(std::move(value)));
}

void SingleFlight::Leader::fail(Error error) { finish(FlightResult(std::move(error))); }

void SingleFlight::Leader::finish(FlightResult result) {
  if (!flight_) return;  // already finished, or moved from
  std::shared_ptr<Flight> flight = std::move(flight_);
  // Leave the map first: from here on, an identical request starts afresh
  // (and finds the cache entry the engine inserted before completing).
  owner_->release(key_, flight);
  std::vector<std::function<void(const FlightResult&)>> callbacks;
  {
    std::lock_guard lock(flight->mu);
    flight->result.emplace(std::move(result));
    callbacks.swap(flight->callbacks);
  }
  flight->cv.notify_all();
  // result is immutable from here on: reading it without the lock is safe.
  for (auto& cb : callbacks) cb(*flight->result);
}

FlightResult SingleFlight::Follower::wait_until(std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(flight_->mu);
  if (!flight_->cv.wait_until(lock, deadline, [&] { return flight_->result.has_value(); })) {
    return Error(ErrorCategory::timeout,
                 "timed out waiting for an identical request in flight to answer");
  }
  return *flight_->result;
}

void SingleFlight::Follower::on_complete(std::function<void(const FlightResult&)> done) const {
  {
    std::lock_guard lock(flight_->mu);
    if (!flight_->result) {
      flight_->callbacks.push_back(std::move(done));
      return;
    }
  }
  done(*flight_->result);
}

}  // namespace tollgate::engine

