#include "engine/io_runtime.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

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

bool IoRuntime::on_io_thread() const { return t_runtime == this; }

}  // namespace tollgate::engine
