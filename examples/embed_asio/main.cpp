// Embedding tollgate in a service that uses Asio itself: the service's own
// io_context runs a timer and tollgate's engine, and a request completes
// through an Asio completion token (std::future here).
//
// Built two ways by the tests, against the installed package as well as in
// tree: with the service's Asio header-only (the default), and with the
// service compiling Asio's sources itself (EMBED_ASIO_SEPARATE=ON:
// BOOST_ASIO_SEPARATE_COMPILATION and boost/asio/impl/src.hpp in
// asio_src.cpp). tollgate compiles its own Asio with definitions that stay
// private, so neither way clashes with it.
//   embed_asio_example POLICY.lua
#include <chrono>
#include <cstdio>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <tollgate/async.hpp>

int main(int argc, char** argv) {
  if (argc < 2) return std::fprintf(stderr, "usage: %s POLICY.lua\n", argv[0]), 2;
  boost::asio::io_context io;  // the service's own
  auto work = boost::asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });

  tollgate::Options options;
  options.policy_paths = {argv[1]};
  // Nothing listens on port 1: the request fails fast, which is enough to
  // show the engine's I/O running on the service's io_context.
  options.base_url_overrides["*"] = "http://127.0.0.1:1/v1";
  options.retry.max_attempts = 1;
  auto engine = tollgate::create_engine(options, io.get_executor());
  if (!engine.ok()) return std::fprintf(stderr, "%s\n", engine.error().what()), 1;

  boost::asio::steady_timer timer(io, std::chrono::milliseconds(1));
  auto ticked = timer.async_wait(boost::asio::use_future);

  tollgate::Request request;
  request.team = "support";
  request.tags = {{"task", "classify"}};
  request.body["messages"] = {{{"role", "user"}, {"content", "Is this spam?"}}};
  request.max_tokens = 5;
  auto answer = tollgate::async_complete(**engine, request, boost::asio::use_future).get();
  ticked.get();

  engine->reset();
  work.reset();
  runner.join();
  if (answer.ok()) return std::fprintf(stderr, "unexpected answer from port 1\n"), 1;
  std::printf("asio: the service's timer fired; tollgate answered on its io_context: %s\n",
              std::string(tollgate::to_string(answer.error().category())).c_str());
  return 0;
}
