// The threads the engine's network I/O runs on: its own io_context with N
// threads, or an executor the embedder lends (then the embedder runs it).
#pragma once

#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

namespace tollgate::engine {

class IoRuntime {
 public:
  // Own threads: `threads` of them (0: one per core).
  explicit IoRuntime(unsigned threads);
  // Borrowed: runs nothing itself.
  explicit IoRuntime(boost::asio::any_io_executor executor);
  ~IoRuntime();  // own threads: stops and joins them

  // Own threads: stops and joins them, keeping the io_context alive so
  // objects with sockets on it (connection pools) can still close them.
  void stop();
  IoRuntime(const IoRuntime&) = delete;
  IoRuntime& operator=(const IoRuntime&) = delete;

  boost::asio::any_io_executor executor() const { return executor_; }
  // True on one of this runtime's own threads, or on a thread running the
  // borrowed executor's io_context (where blocking calls would deadlock the
  // engine).
  bool on_io_thread() const;

 private:
  struct Own;
  std::unique_ptr<Own> own_;
  boost::asio::any_io_executor executor_;
};

}  // namespace tollgate::engine
