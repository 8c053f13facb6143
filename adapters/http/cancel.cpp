#include "adapters/http/cancel.hpp"

#include <utility>

namespace tollgate::adapters {

void CancelSignal::cancel(std::string reason) {
  std::function<void()> run;
  {
    std::lock_guard lock(mu_);
    if (cancelled_) return;
    cancelled_ = true;
    reason_ = std::move(reason);
    run = std::move(handler_);
    handler_ = nullptr;
  }
  // Outside the lock: the handler may take the operation's own locks.
  if (run) run();
}

bool CancelSignal::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

std::string CancelSignal::reason() const {
  std::lock_guard lock(mu_);
  return reason_;
}

uint64_t CancelSignal::set_handler(std::function<void()> handler) {
  std::unique_lock lock(mu_);
  const uint64_t ticket = ++ticket_;
  if (cancelled_) {
    lock.unlock();
    if (handler) handler();
    return ticket;
  }
  handler_ = std::move(handler);
  return ticket;
}

void CancelSignal::clear(uint64_t ticket) {
  std::function<void()> drop;  // destroyed outside the lock
  std::lock_guard lock(mu_);
  if (ticket == ticket_) drop = std::move(handler_), handler_ = nullptr;
}

}  // namespace tollgate::adapters
