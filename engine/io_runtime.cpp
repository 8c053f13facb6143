#include "engine/io_runtime.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include "adapters/http/serial_executor.hpp"

namespace tollgate::engine {

struct IoRuntime::Own {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::vector<std::thread> threads;
};

namespace {
thread_local const IoRuntime* t_runtime = nullptr;
}

IoRuntime::IoRuntime(unsigned threads) : own_(std::make_unique<Own>()) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  if (threads == 1) adapters::mark_run_by_one_thread(own_->io);
  executor_ = own_->io.get_executor();
  for (unsigned i = 0; i < threads; ++i) {
    own_->threads.emplace_back([this] {
      t_runtime = this;
      own_->io.run();
    });
  }
}

IoRuntime::IoRuntime(boost::asio::any_io_executor executor) : executor_(std::move(executor)) {}

IoRuntime::~IoRuntime() { stop(); }

void IoRuntime::stop() {
  if (!own_) return;
  own_->work.reset();
  own_->io.stop();
  for (auto& t : own_->threads)
    if (t.joinable()) t.join();
}

bool IoRuntime::on_io_thread() const {
  if (t_runtime == this) return true;
  if (own_) return false;
  // A borrowed executor: detectable when it is an io_context's (or a strand
  // on one), the executor embedders lend; another kind is the embedder's to
  // keep blocking calls off (engine.hpp says so).
  using IoExecutor = boost::asio::io_context::executor_type;
  if (const auto* io = executor_.target<IoExecutor>()) return io->running_in_this_thread();
  if (const auto* strand = executor_.target<boost::asio::strand<IoExecutor>>())
    return strand->get_inner_executor().running_in_this_thread();
  return false;
}

}  // namespace tollgate::engine
