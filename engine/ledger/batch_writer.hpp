// The writer thread the ledger and the cache store share: callers queue
// items, one thread takes them in batches and hands each batch to its owner
// to write as one transaction (group commit).
//
// A batch closes when it holds batch_max items, when an urgent item is
// queued (one a caller waits on), or batch_max_delay after its first item
// arrived, whichever comes first; with a delay of 0 the writer takes what is
// queued as soon as it is free. stop() lets the writer drain the queue and
// the owner finish its own work (Sink::finish), then joins it.
//
// The writer's mutex also guards the owner's state its hooks touch: every
// hook but write() runs with it held, and push(), size(), stopping(),
// wait_for_room() and poke() want it held too.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace tollgate::engine {

template <typename Item>
class BatchWriter {
 public:
  using Lock = std::unique_lock<std::mutex>;

  // What the owner does on the writer thread.
  class Sink {
   public:
    // Writes one batch, without the lock.
    virtual void write(std::vector<Item>& batch) = 0;
    // After write(), with the lock (it may let go of it a while): counts,
    // answers to the callers.
    virtual void written(std::vector<Item>& batch, Lock& lock) = 0;
    // An item that closes the open batch at once.
    virtual bool urgent(const Item&) const { return false; }
    // Before each look at the queue: work of the owner's own (rows to try
    // again). True: some was done, look again from the top.
    virtual bool own_work(Lock&) { return false; }
    // Stopping with the queue empty: true once the owner has nothing left
    // to write and the writer may exit.
    virtual bool finish(Lock&) { return true; }
    // The longest the writer sleeps with nothing queued (nullopt: until
    // woken), and what it does when that time passes.
    virtual std::optional<std::chrono::milliseconds> idle_period() { return std::nullopt; }
    virtual void idle(Lock&) {}

   protected:
    ~Sink() = default;
  };

  struct Limits {
    std::size_t batch_max = 1;
    std::chrono::microseconds batch_max_delay{0};
  };

  explicit BatchWriter(Limits limits) : limits_(limits) { limits_.batch_max = std::max<std::size_t>(1, limits_.batch_max); }
  BatchWriter(const BatchWriter&) = delete;
  BatchWriter& operator=(const BatchWriter&) = delete;
  ~BatchWriter() { stop(); }

  void start(Sink& sink) {
    sink_ = &sink;
    thread_ = std::thread([this] { run(); });
  }
  // Drains the queue, lets the sink finish, and joins the writer. Call it
  // before the sink goes. Wakes callers waiting for room (stopping() is true).
  void stop() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    space_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  std::mutex& mutex() { return mu_; }
  bool stopping() const { return stop_; }
  std::size_t size() const { return queue_.size(); }
  // The queue's length without the lock, as of the last push or batch.
  std::size_t depth() const { return depth_.load(std::memory_order_acquire); }

  // Waits until fewer than `max` items are queued, or the writer stops.
  void wait_for_room(Lock& lock, std::size_t max) {
    space_cv_.wait(lock, [&] { return queue_.size() < max || stop_; });
  }

  void push(Item item) {
    const bool was_empty = queue_.empty();
    if (was_empty) first_arrival_ = Clock::now();
    const bool is_urgent = sink_->urgent(item);
    if (is_urgent) ++urgent_;
    queue_.push_back(std::move(item));
    depth_.store(queue_.size(), std::memory_order_release);
    // An idle writer wakes for the first item; one holding a batch open,
    // for what closes it.
    if (was_empty || is_urgent || queue_.size() >= limits_.batch_max) work_cv_.notify_one();
  }

  // Wakes an idle writer to look at the owner's own work.
  void poke() {
    poked_ = true;
    work_cv_.notify_one();
  }

 private:
  using Clock = std::chrono::steady_clock;

  void run() {
    std::vector<Item> batch;
    batch.reserve(limits_.batch_max);
    Lock lock(mu_);
    for (;;) {
      poked_ = false;
      if (sink_->own_work(lock)) continue;
      if (queue_.empty()) {
        if (stop_) {
          if (sink_->finish(lock)) break;
          continue;
        }
        const auto woken = [&] { return stop_ || !queue_.empty() || poked_; };
        if (const auto period = sink_->idle_period()) {
          if (!work_cv_.wait_for(lock, *period, woken)) sink_->idle(lock);
        } else {
          work_cv_.wait(lock, woken);
        }
        continue;
      }
      // Group commit: hold the batch open until it is full, its first item
      // has waited batch_max_delay, or an urgent item arrives.
      work_cv_.wait_until(lock, first_arrival_ + limits_.batch_max_delay,
                          [&] { return stop_ || urgent_ > 0 || queue_.size() >= limits_.batch_max; });
      const std::size_t n = std::min(queue_.size(), limits_.batch_max);
      for (std::size_t i = 0; i < n; ++i) {
        if (sink_->urgent(queue_.front())) --urgent_;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      if (!queue_.empty()) first_arrival_ = Clock::now();
      depth_.store(queue_.size(), std::memory_order_release);
      space_cv_.notify_all();
      lock.unlock();
      sink_->write(batch);
      lock.lock();
      sink_->written(batch, lock);
      batch.clear();
    }
  }

  Limits limits_;
  Sink* sink_ = nullptr;
  std::mutex mu_;
  std::condition_variable work_cv_;   // the writer: items arrived, a poke, or stop
  std::condition_variable space_cv_;  // callers: the queue has room
  std::deque<Item> queue_;            // guarded by mu_, as is everything below
  std::size_t urgent_ = 0;            // urgent items queued
  Clock::time_point first_arrival_;   // of the open batch's first item
  bool stop_ = false;
  bool poked_ = false;
  std::atomic<std::size_t> depth_{0};
  std::thread thread_;
};

}  // namespace tollgate::engine
