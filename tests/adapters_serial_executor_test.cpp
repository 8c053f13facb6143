// Where a connection's handlers run: a strand, unless the io_context is
// marked as run by one thread, when the strand would only cost.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "tests/adapters_support.hpp"

using namespace tollgate;
namespace net = boost::asio;

TEST_CASE("serial executor: a strand, unless one thread runs the io_context") {
  net::io_context shared(2), alone(1);
  adapters::mark_run_by_one_thread(alone);
  adapters::mark_run_by_one_thread(alone);  // twice is once

  const auto s = adapters::serial_executor(shared.get_executor());
  CHECK(s.target<net::strand<net::any_io_executor>>() != nullptr);
  CHECK(adapters::serial_executor(shared.get_executor()) != s);  // a new strand each time

  const auto a = adapters::serial_executor(alone.get_executor());
  CHECK(a.target<net::io_context::executor_type>() != nullptr);
  // Given a strand of a marked context, still the context's own executor.
  const net::any_io_executor strand_of_alone = net::make_strand(alone.get_executor());
  CHECK(adapters::serial_executor(strand_of_alone).target<net::io_context::executor_type>() != nullptr);

  // Either way, handlers posted to it run, in order.
  std::vector<int> order;
  for (int i = 0; i < 3; ++i) net::post(a, [&order, i] { order.push_back(i); });
  alone.run();
  CHECK(order == std::vector<int>{0, 1, 2});
}
