// tollgate::adapters — how a server's I/O thread runs its io_context, with
// optional busy polling.
//
// Why poll: an I/O thread with nothing to do sleeps in epoll_wait, and on a
// virtual machine the vCPU under it halts; the next packet then waits for
// the host to wake it, tens of microseconds a wake-up, several times per
// proxied request. Polling for a while after each event keeps the thread
// (and its vCPU) awake while traffic flows, for latency, at the price of that
// CPU. HAProxy's `busy-polling` answers the same problem the same way.
#pragma once

#include <chrono>

namespace boost::asio {
class io_context;
}

namespace tollgate::adapters {

// Runs `io` on the calling thread until io.stop(); running out of work does
// not end it. With `busy_poll` > 0 the thread checks for ready work without
// sleeping until `busy_poll` has passed since its last event, then sleeps
// until the next one.
void run_io_thread(boost::asio::io_context& io, std::chrono::microseconds busy_poll);

}  // namespace tollgate::adapters
