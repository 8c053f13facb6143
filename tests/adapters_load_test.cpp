// Many requests at once through one provider: all answered, the pool
// bounded, nothing leaked (run under ASan and TSan in CI).
#include <atomic>

#include "tests/adapters_support.hpp"

using namespace tollgate;
using namespace tollgate::test;
using adapters::MockBehavior;

TEST_CASE("load: 1,000 concurrent requests finish through a bounded pool") {
  // Two I/O threads (a strand per connection), and one (no strands).
  const unsigned threads = GENERATE(2u, 1u);
  INFO("I/O threads: " << threads);
  IoThreads io(threads);
  adapters::MockServerOptions mo;
  mo.threads = 2;
  auto mock = start_mock(mo);
  auto cfg = mock_config(*mock);
  cfg.connection.pool_size = 64;
  auto p = make(io.executor(), cfg);

  constexpr int kRequests = 1000;
  std::atomic<int> answered{0}, failures{0}, finished{0};
  std::promise<void> all_done;
  std::mutex first_failure_mu;
  std::string first_failure;
  for (int i = 0; i < kRequests; ++i) {
    const bool stream = i % 2 == 1;
    p->async_chat(chat_body("request " + std::to_string(i)), "m" + std::to_string(i % 8), stream,
                  adapters::AnswerForm::json, nullptr,
                  nullptr, [&](adapters::ChatResult r) {
                    if (auto* f = std::get_if<adapters::Failure>(&r)) {
                      ++failures;
                      std::lock_guard lock(first_failure_mu);
                      if (first_failure.empty()) first_failure = f->message;
                    } else {
                      ++answered;
                    }
                    if (++finished == kRequests) all_done.set_value();
                  });
  }
  REQUIRE(all_done.get_future().wait_for(kDeadline) == std::future_status::ready);
  INFO(first_failure);
  CHECK(answered == kRequests);
  CHECK(failures == 0);
  CHECK(mock->total_calls() == kRequests);
  CHECK(p->open_connections() <= 64);
}

TEST_CASE("load: beyond pool and queue, requests fail at once instead of piling up") {
  IoThreads io;
  auto mock = start_mock();
  mock->script("stuck", MockBehavior{.fault = adapters::MockFault::hang});
  auto cfg = mock_config(*mock);
  cfg.connection.pool_size = 1;
  cfg.connection.max_queued = 2;
  cfg.connection.total_timeout = 1s;
  auto p = make(io.executor(), cfg);

  std::vector<std::future<adapters::ChatResult>> results;
  for (int i = 0; i < 5; ++i) {
    auto promise = std::make_shared<std::promise<adapters::ChatResult>>();
    results.push_back(promise->get_future());
    p->async_chat(chat_body(), "stuck", false, adapters::AnswerForm::json, nullptr, nullptr,
                  [promise](adapters::ChatResult r) { promise->set_value(std::move(r)); });
  }
  int full = 0, timed_out = 0;
  for (auto& f : results) {
    REQUIRE(f.wait_for(kDeadline) == std::future_status::ready);
    const auto failure = failed(f.get());
    if (failure.message.find("is full") != std::string::npos) ++full;
    if (failure.kind == adapters::FailureKind::timeout) ++timed_out;
  }
  CHECK(full == 2);
  CHECK(timed_out == 3);
  CHECK(p->open_connections() == 0);
  CHECK(eventually([&] { return mock->open_connections() == 0; }));
}
