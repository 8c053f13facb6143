#include "adapters/http/serial_executor.hpp"

#include <boost/asio/execution_context.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

namespace tollgate::adapters {

namespace {

namespace net = boost::asio;

// The mark: a service whose presence is the fact; it keeps the io_context
// (an execution_context is not polymorphic, so it cannot be cast back).
class RunByOneThread final : public net::execution_context::service {
 public:
  static net::execution_context::id id;  // NOLINT: Asio's service registry looks it up by this name
  RunByOneThread(net::execution_context& context, net::io_context& io) : service(context), io_(&io) {}
  // For use_service, which must be able to make one (it never does here:
  // has_service is asked first).
  explicit RunByOneThread(net::execution_context& context) : service(context) {}
  net::io_context* io() const { return io_; }
  void shutdown() override {}

 private:
  net::io_context* io_ = nullptr;
};

// Its constructor is empty and cannot throw; clang-tidy cannot see that.
net::execution_context::id RunByOneThread::id;  // NOLINT(cert-err58-cpp)

}  // namespace

void mark_run_by_one_thread(net::io_context& io) {
  if (!net::has_service<RunByOneThread>(io)) net::make_service<RunByOneThread>(io, io);
}

net::any_io_executor serial_executor(const net::any_io_executor& ex) {
  auto& context = net::query(ex, net::execution::context);
  // The context's own executor, not `ex`: `ex` may itself be a strand.
  if (net::has_service<RunByOneThread>(context)) {
    if (auto* io = net::use_service<RunByOneThread>(context).io()) return io->get_executor();
  }
  return net::make_strand(ex);
}

}  // namespace tollgate::adapters
