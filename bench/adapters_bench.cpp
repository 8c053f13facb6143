// Client-side cost of a provider call, against the in-process mock on
// loopback with 64 requests in flight: requests per second, client CPU per
// request, and heap allocations per request (client threads only: the
// mock's own work is excluded from both).
//
//   bench_adapters --benchmark_counters_tabular=true
#include <atomic>
#include <cstdlib>
#include <ctime>
#include <future>
#include <new>
#include <thread>

#include <benchmark/benchmark.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "mock/mock_server.hpp"
#include "adapters/providers/provider.hpp"

namespace {

// Allocations are counted only on threads that opt in: the client's I/O
// thread and the thread issuing requests.
thread_local bool t_count = false;
std::atomic<int64_t> g_allocs{0};

}  // namespace

void* operator new(std::size_t n) {
  if (t_count) g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
// GCC cannot tell that operator new above is malloc, and warns that free()
// gets a pointer from operator new; here that is exactly right.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace {

namespace ad = tollgate::adapters;
constexpr int kInFlight = 64;

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Fixture {
  std::unique_ptr<ad::MockServer> mock;
  boost::asio::io_context ioc{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{ioc.get_executor()};
  std::thread io;
  std::shared_ptr<ad::Provider> provider;

  Fixture() {
    ad::MockServerOptions mo;
    mo.threads = 1;
    mock = std::move(*ad::MockServer::start(mo));
    mock->set_default(ad::MockBehavior{.reply = "A short answer of about a dozen tokens, as a classifier gives."});
    io = std::thread([this] {
      t_count = true;
      ioc.run();
    });
    ad::ProviderConfig c;
    c.name = "mock";
    c.base_url = mock->base_url();
    c.connection.pool_size = kInFlight;
    provider = *ad::make_provider(ioc.get_executor(), c);
  }
  ~Fixture() {
    provider.reset();
    work.reset();
    io.join();
  }
  double io_cpu() {
    std::promise<double> p;
    boost::asio::post(ioc, [&] { p.set_value(thread_cpu_seconds()); });
    return p.get_future().get();
  }
};

void run(benchmark::State& state, bool stream) {
  Fixture f;
  const nlohmann::json body = {
      {"messages", {{{"role", "user"}, {"content", "Classify this support ticket: my invoice is wrong."}}}},
      {"temperature", 0}};
  t_count = true;
  const double cpu0 = f.io_cpu() + thread_cpu_seconds();
  const int64_t allocs0 = g_allocs.load();
  int64_t requests = 0, failures = 0;
  for (auto _ : state) {
    std::atomic<int> left{kInFlight};
    std::promise<void> done;
    for (int i = 0; i < kInFlight; ++i) {
      f.provider->async_chat(body, "bench-model", stream, ad::AnswerForm::json, stream ? ad::DeltaFn([](const nlohmann::json&) {}) : nullptr,
                             nullptr, [&](ad::ChatResult r) {
                               if (std::holds_alternative<ad::Failure>(r)) ++failures;
                               if (--left == 0) done.set_value();
                             });
    }
    done.get_future().wait();
    requests += kInFlight;
  }
  const double cpu = f.io_cpu() + thread_cpu_seconds() - cpu0;
  t_count = false;
  state.SetItemsProcessed(requests);
  state.counters["client_us_per_req"] = cpu * 1e6 / static_cast<double>(requests);
  state.counters["allocs_per_req"] =
      static_cast<double>(g_allocs.load() - allocs0) / static_cast<double>(requests);
  state.counters["failures"] = static_cast<double>(failures);
}

void BM_ChatNonStreaming(benchmark::State& state) { run(state, false); }
void BM_ChatStreaming(benchmark::State& state) { run(state, true); }

BENCHMARK(BM_ChatNonStreaming)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_ChatStreaming)->UseRealTime()->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
