// tollgate::Cancellation over the adapters' cancel signal.
#include "adapters/http/cancel.hpp"
#include "engine/request_op.hpp"

namespace tollgate {
namespace {

class CancellationImpl final : public Cancellation {
 public:
  void cancel() override { signal->cancel(); }
  void cancel(std::string reason) override { signal->cancel(std::move(reason)); }
  bool cancelled() const override { return signal->cancelled(); }
  std::shared_ptr<adapters::CancelSignal> signal = std::make_shared<adapters::CancelSignal>();
};

}  // namespace

std::shared_ptr<Cancellation> Cancellation::make() { return std::make_shared<CancellationImpl>(); }

namespace engine {

std::shared_ptr<adapters::CancelSignal> cancel_signal_of(const std::shared_ptr<Cancellation>& c) {
  if (!c) return nullptr;
  if (auto* impl = dynamic_cast<CancellationImpl*>(c.get())) return impl->signal;
  // Someone else's Cancellation: bridge it with a signal we poll at start.
  auto signal = std::make_shared<adapters::CancelSignal>();
  if (c->cancelled()) signal->cancel();  // its reason is its own to keep
  return signal;
}

}  // namespace engine
}  // namespace tollgate
