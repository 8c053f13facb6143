// tollgate::adapters — the executor on which one connection's, or one
// request's, handlers run one at a time.
//
// Normally a new strand. On an io_context that only one thread runs
// (`tollgate serve --threads 1`, an engine with Options::threads = 1) no
// two handlers can run at once anyway, and a strand only costs: it is too
// large for an any_io_executor's inline storage, so every completion passed
// through one allocates, and each takes the strand's lock. Through serve
// that was ~60 allocations a request. There, it is the io_context's own
// executor.
#pragma once

#include <boost/asio/any_io_executor.hpp>

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace tollgate::adapters {

// Declares that one thread at a time, always the same, runs `io`. Call it
// before that thread starts.
void mark_run_by_one_thread(boost::asio::io_context& io);

// A strand on `ex`, or `ex`'s io_context's own executor when that is marked.
boost::asio::any_io_executor serial_executor(const boost::asio::any_io_executor& ex);

}  // namespace tollgate::adapters
