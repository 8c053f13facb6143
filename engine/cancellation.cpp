// tollgate::Cancellation over the adapters' cancel signal.
#include "adapters/http/cancel.hpp"
#include "engine/request_op.hpp"

namespace tollgate {

struct Cancellation::Signal {
  std::shared_ptr<adapters::CancelSignal> signal = std::make_shared<adapters::CancelSignal>();
};

struct CancellationAccess {
  static const std::shared_ptr<adapters::CancelSignal>& signal(const Cancellation& c) { return c.signal_->signal; }
};

Cancellation::Cancellation() : signal_(std::make_shared<Signal>()) {}
Cancellation::~Cancellation() = default;

std::shared_ptr<Cancellation> Cancellation::make() { return std::shared_ptr<Cancellation>(new Cancellation()); }

void Cancellation::cancel() { signal_->signal->cancel(); }
void Cancellation::cancel(std::string reason) { signal_->signal->cancel(std::move(reason)); }
bool Cancellation::cancelled() const { return signal_->signal->cancelled(); }

namespace engine {

std::shared_ptr<adapters::CancelSignal> cancel_signal_of(const std::shared_ptr<Cancellation>& c) {
  if (!c) return nullptr;
  return CancellationAccess::signal(*c);
}

}  // namespace engine
}  // namespace tollgate
