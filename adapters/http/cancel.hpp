// tollgate::adapters — a thread-safe cancellation signal shared by a caller
// and the operation it started.
//
// The caller keeps a shared_ptr<CancelSignal> and may call cancel() from any
// thread, any number of times. The running step (an HTTP exchange, a backoff
// wait) registers a handler that ends it; each step replaces the previous
// step's handler, so one signal follows a request across retries. Bridging
// an Asio cancellation slot is one line:
//   slot.assign([s](boost::asio::cancellation_type) { s->cancel(); });
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace tollgate::adapters {

class CancelSignal {
 public:
  // Marks the signal cancelled and runs the registered handler, once, on
  // this thread. Later calls do nothing. `reason` says why, in words an
  // error message can use ("... during provider 'x' model 'y'"): the first
  // canceller's reason is kept.
  void cancel(std::string reason = "cancelled by the caller");
  bool cancelled() const;
  // The first canceller's reason; empty while not cancelled.
  std::string reason() const;

  // Registers the handler the next cancel() runs, replacing any other; runs
  // it here and now when already cancelled. Returns a ticket for clear().
  // The handler must only post work (it may run on any thread) and must not
  // call back into this signal.
  uint64_t set_handler(std::function<void()> handler);
  // Removes the handler registered under `ticket`, if it is still the
  // current one (a later step's handler stays).
  void clear(uint64_t ticket);

 private:
  mutable std::mutex mu_;
  bool cancelled_ = false;       // guarded by mu_
  std::string reason_;           // guarded by mu_
  uint64_t ticket_ = 0;          // guarded by mu_
  std::function<void()> handler_;  // guarded by mu_
};

}  // namespace tollgate::adapters
