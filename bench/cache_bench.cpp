// Response cache: key computation + lookup for 1 KB and 32 KB requests
// (target <= 1 us at 1 KB, issue #5), and the memory an entry costs beyond
// its response body. Figures: bench/README.md.
#include <malloc.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "engine/cache/cache_key.hpp"
#include "engine/cache/response_cache.hpp"

// Live heap bytes, as the allocator rounds them (malloc_usable_size): what
// the process really holds, short of malloc's 8-byte chunk headers.
// GCC 12 flags free() in a replaced operator delete as mismatched with new;
// replacing both together is exactly what the standard allows.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
static std::atomic<int64_t> g_live_bytes{0};
void* operator new(std::size_t n) {
  if (void* p = std::malloc(n ? n : 1)) {
    g_live_bytes.fetch_add(static_cast<int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
    return p;
  }
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  if (p) g_live_bytes.fetch_sub(static_cast<int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }

namespace {

using namespace tollgate::engine;
using nlohmann::json;

// A chat request whose serialized body is about `bytes` long: a system
// prompt, a few turns, sampling parameters and one tool.
json request_of(std::size_t bytes) {
  json body = json::parse(R"({
    "temperature": 0.2, "top_p": 1, "max_tokens": 512, "user": "alice", "stream": false,
    "tools": [{"type": "function", "function": {"name": "lookup", "description": "Find an order",
               "parameters": {"type": "object", "properties": {"id": {"type": "string"}}}}}],
    "messages": [{"role": "system", "content": "You are a helpful support agent."}]})");
  const std::string sentence = "The quick brown fox jumps over the lazy dog, then asks about its order. ";
  int turn = 0;
  while (body.dump().size() < bytes) {
    std::string text;
    while (text.size() < 200 && body.dump().size() + text.size() < bytes) text += sentence;
    body["messages"].push_back({{"role", turn++ % 2 ? "assistant" : "user"}, {"content", text}});
  }
  return body;
}

const std::vector<std::string_view> kModels = {"deepseek-v4-flash", "qwen3-32b", "gpt-4o"};

void BM_KeyAndLookup(benchmark::State& state) {
  const json body = request_of(static_cast<std::size_t>(state.range(0)));
  const CacheKeyer keyer(random_cache_key_secret());
  ResponseCache cache({.max_bytes = 64 << 20, .shards = 16, .clock = {}, .on_evict = {}});
  // A warm cache of 10,000 entries, the request's among them: a hit.
  for (uint64_t i = 0; i < 10'000; ++i) {
    CachedResponse r;
    r.body = std::string(1000, 'x');
    (void)cache.insert(CacheKey{i * 0x9E3779B97F4A7C15ULL, i}, std::move(r), 3'600'000);
  }
  CachedResponse mine;
  mine.body = std::string(1000, 'y');
  (void)cache.insert(keyer.key("team-a", body, 0, kModels), std::move(mine), 3'600'000);
  for (auto _ : state) {
    const CacheKey k = keyer.key("team-a", body, 0, kModels);
    CachedPtr hit = cache.find(k);
    benchmark::DoNotOptimize(hit);
  }
  state.counters["request_bytes"] = static_cast<double>(body.dump().size());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(body.dump().size()));
}
BENCHMARK(BM_KeyAndLookup)->Arg(1024)->Arg(32 * 1024);

void BM_KeyOnly(benchmark::State& state) {
  const json body = request_of(static_cast<std::size_t>(state.range(0)));
  const CacheKeyer keyer(random_cache_key_secret());
  for (auto _ : state) benchmark::DoNotOptimize(keyer.key("team-a", body, 0, kModels));
}
BENCHMARK(BM_KeyOnly)->Arg(1024)->Arg(32 * 1024);

// Heap bytes per cached entry beyond its body: the entry, its shared_ptr
// control block, the LRU and hash-map nodes, the route/provider/model
// strings, the map's bucket array (amortized). Compare with
// ResponseCache::kEntryOverhead, what the byte bound charges.
void BM_MemoryPerEntry(benchmark::State& state) {
  const auto body_bytes = static_cast<std::size_t>(state.range(0));
  constexpr uint64_t kEntries = 20'000;
  double overhead = 0;
  for (auto _ : state) {
    auto cache = std::make_unique<ResponseCache>(ResponseCache::Options{
        .max_bytes = int64_t{4} << 30, .shards = 16, .clock = {}, .on_evict = {}});
    const int64_t before = g_live_bytes.load();
    for (uint64_t i = 0; i < kEntries; ++i) {
      CachedResponse r;
      r.body = std::string(body_bytes, 'x');
      r.route = "default";
      r.provider = "deepseek";
      r.model = "deepseek-v4-flash";
      r.finish_reason = "stop";
      (void)cache->insert(CacheKey{i * 0x9E3779B97F4A7C15ULL, i}, std::move(r), 3'600'000);
    }
    const int64_t after = g_live_bytes.load();
    overhead = static_cast<double>(after - before) / kEntries - static_cast<double>(body_bytes);
    state.PauseTiming();
    cache.reset();
    state.ResumeTiming();
  }
  state.counters["overhead_bytes_per_entry"] = overhead;
  state.counters["charged_overhead"] = static_cast<double>(ResponseCache::kEntryOverhead);
}
BENCHMARK(BM_MemoryPerEntry)->Arg(1024)->Arg(16 * 1024)->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
