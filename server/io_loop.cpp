#include "server/io_loop.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

namespace tollgate::adapters {

void run_io_thread(boost::asio::io_context& io, std::chrono::microseconds busy_poll) {
  // Outstanding work keeps run() and run_one() from returning when the
  // last operation ends: a server that closed its acceptor and connections
  // still runs the handlers of whatever shares its threads (the engine).
  auto work = boost::asio::make_work_guard(io);
  if (busy_poll <= std::chrono::microseconds::zero()) {
    io.run();
    return;
  }
  using Clock = std::chrono::steady_clock;
  while (!io.stopped()) {
    // poll() runs what is ready, asking epoll with a zero timeout; each
    // event that ran starts the window again.
    const auto until = Clock::now() + busy_poll;
    bool woke = false;
    while (!woke && !io.stopped() && Clock::now() < until) woke = io.poll() > 0;
    // Quiet for the whole window: sleep until the next event.
    if (!woke) io.run_one();
  }
}

}  // namespace tollgate::adapters
