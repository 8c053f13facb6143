// The request path end to end: Engine::complete / stream / async_* over real
// HTTP to the mock provider, real spend caps, a real SQLite ledger.
#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include "request_support.hpp"
#include "tollgate/async.hpp"

using namespace tollgate;
using namespace tollgate::testing;
using adapters::MockFault;

namespace {

const char* kPolicy = R"(
team "support" { monthly_usd = 1000 }
team "team0" { monthly_usd = 1000 }
team "team1" { monthly_usd = 1000 }
team "team2" { monthly_usd = 1000 }
team "capped" { daily_usd = 0.0001, on_exceed = "deny" }
team "thrifty" { daily_usd = 0.0001, on_exceed = "downgrade", downgrade = "economy" }
route "economy" { when = { tier = "economy" }, try = { "qwen3-8b" } }
route "chain" { when = { task = "chain" }, try = { "gpt-4o-mini", "deepseek-v4-flash", "claude-haiku-4-5" } }
route "default" { try = { "gpt-4o-mini", "deepseek-v4-flash" } }
)";

std::string text_of(const Response& r) { return r.body["choices"][0]["message"]["content"].get<std::string>(); }

}  // namespace

TEST_CASE("complete: the answer, its cost at catalog prices, and its ledger row", "[request]") {
  MockedEngine m(kPolicy);
  Request r = chat("support", "Summarize: the quick brown fox");
  r.max_tokens = 100;
  auto res = m.api().complete(r);
  REQUIRE(res.ok());
  CHECK(text_of(*res) == "The quick brown fox jumps over the lazy dog.");
  CHECK(res->route == "default");
  CHECK(res->model == "gpt-4o-mini");
  CHECK(res->provider == "openai");
  CHECK(res->attempts == 1);
  CHECK(res->usage.output_tokens > 0);
  // Cost = usage at gpt-4o-mini's prices ($0.15 / $0.60 per M), exactly.
  const Money expected = cost_of(res->usage.input_tokens, Price::from_usd_per_mtok(0.15), 0, Price{},
                                 res->usage.output_tokens, Price::from_usd_per_mtok(0.6));
  CHECK(res->cost == expected);
  CHECK(m.mock->calls("gpt-4o-mini") == 1);
  // Sync durability: the row is committed before complete() returns.
  CHECK(m.ledger_int("SELECT count(*) FROM attempts WHERE request_id = '" + res->request_id + "'") == 1);
  CHECK(m.ledger_int("SELECT cost_nanos FROM attempts WHERE request_id = '" + res->request_id + "'") ==
        expected.nanos);
  CHECK(m.ledger_int("SELECT count(*) FROM attempts WHERE status = 'ok' AND model = 'gpt-4o-mini' "
                     "AND route = 'default' AND team = 'support'") == 1);
  // Spend is counted against the team.
  CHECK(m.api().spend("support", "day")->spent == expected);
}

TEST_CASE("an answer without usage is charged an estimate, not nothing, streamed or not", "[request]") {
  MockedEngine m(kPolicy);
  adapters::MockBehavior silent;
  silent.reply = "An answer from a server that counts no tokens.";
  silent.omit_usage = true;
  m.mock->script("gpt-4o-mini", silent);
  Request r = chat("support", "How many tokens was this?");
  auto plain = m.api().complete(r);
  REQUIRE(plain.ok());
  CHECK(plain->usage.input_tokens > 0);
  CHECK(plain->usage.output_tokens > 0);
  CHECK(plain->cost.nanos > 0);
  r.body["messages"][0]["content"] = "And streamed?";
  auto streamed = m.api().stream(r, [](const nlohmann::json&) {});
  REQUIRE(streamed.ok());
  CHECK(streamed->usage.output_tokens > 0);
  CHECK(streamed->cost.nanos > 0);
  // The cap counts it, and the ledger says it is an estimate.
  CHECK(m.api().spend("support", "day")->spent == plain->cost + streamed->cost);
  REQUIRE(m.api().flush().ok());
  CHECK(m.ledger_int("SELECT count(*) FROM attempts WHERE status = 'ok' AND cost_nanos > 0 AND output_tokens > 0 "
                     "AND error_message LIKE 'the provider reported no usage%'") == 2);
}

TEST_CASE("answer_as_text: the provider's bytes and no tree, charged and counted the same", "[request]") {
  MockedEngine m(kPolicy);
  Request r = chat("support", "Bytes, please");
  auto tree = m.api().complete(r);
  REQUIRE(tree.ok());
  r.answer_as_text = true;
  auto text = m.api().complete(r);
  REQUIRE(text.ok());
  CHECK(text->body.is_null());
  REQUIRE_FALSE(text->body_text.empty());
  const auto parsed = nlohmann::json::parse(text->body_text);
  CHECK(parsed["choices"][0]["message"]["content"] == tree->body["choices"][0]["message"]["content"]);
  CHECK(text->usage.input_tokens == tree->usage.input_tokens);
  CHECK(text->usage.output_tokens == tree->usage.output_tokens);
  CHECK(text->finish_reason == "stop");
  CHECK(text->cost == tree->cost);
  CHECK(m.api().spend("support", "day")->spent == tree->cost + text->cost);

  // No usage in the answer: the estimate reads the text.
  adapters::MockBehavior silent;
  silent.reply = "An answer from a server that counts no tokens.";
  silent.omit_usage = true;
  m.mock->script("gpt-4o-mini", silent);
  r.body["messages"][0]["content"] = "And without usage?";
  auto estimated = m.api().complete(r);
  REQUIRE(estimated.ok());
  CHECK(estimated->body.is_null());
  CHECK(estimated->usage.output_tokens > 0);
  CHECK(estimated->cost.nanos > 0);

  // A stream has no bytes of a whole answer: it is a tree as always.
  r.body["messages"][0]["content"] = "And streamed?";
  auto streamed = m.api().stream(r, [](const nlohmann::json&) {});
  REQUIRE(streamed.ok());
  CHECK(streamed->body.is_object());
  CHECK(streamed->body_text.empty());
}

TEST_CASE("stream: deltas reassemble to the answer, charged as the same request unstreamed", "[request]") {
  MockedEngine m(kPolicy);
  Request r = chat("support", "Tell me about foxes");
  r.max_tokens = 100;
  auto plain = m.api().complete(r);
  REQUIRE(plain.ok());
  std::string assembled;
  int chunks = 0;
  auto streamed = m.api().stream(r, [&](const nlohmann::json& chunk) {
    ++chunks;
    CHECK(chunk["object"] == "chat.completion.chunk");
    if (chunk.contains("choices") && !chunk["choices"].empty()) {
      const auto& delta = chunk["choices"][0]["delta"];
      if (delta.contains("content") && delta["content"].is_string()) assembled += delta["content"].get<std::string>();
    }
  });
  REQUIRE(streamed.ok());
  CHECK(chunks > 3);
  CHECK(assembled == text_of(*plain));
  CHECK(text_of(*streamed) == text_of(*plain));
  CHECK(streamed->usage.output_tokens == plain->usage.output_tokens);
  CHECK(streamed->cost == plain->cost);  // no spend logged as 0 for streams
  CHECK(streamed->ttft_ms >= 0);
  CHECK(m.ledger_int("SELECT cost_nanos FROM attempts WHERE request_id = '" + streamed->request_id + "'") ==
        plain->cost.nanos);
}

TEST_CASE("fallback: failures move down the candidates, every attempt is in the ledger", "[request]") {
  MockedEngine m(kPolicy);
  m.mock->script("gpt-4o-mini", fault(MockFault::server_error));
  m.mock->script("deepseek-v4-flash", fault(MockFault::rate_limit));
  auto res = m.api().complete(chat("support", "hello", {{"task", "chain"}}));
  REQUIRE(res.ok());
  CHECK(res->model == "claude-haiku-4-5");  // the Anthropic adapter, translated back
  CHECK(res->provider == "anthropic");
  CHECK(res->attempts == 5);                // 2 tries each on the failing two
  CHECK(m.ledger_int("SELECT count(*) FROM attempts WHERE request_id = '" + res->request_id +
                     "' AND status = 'error'") == 4);
  CHECK(m.ledger_int("SELECT count(*) FROM attempts WHERE request_id = '" + res->request_id +
                     "' AND status = 'ok' AND model = 'claude-haiku-4-5'") == 1);
  // Answers with an error status are not billed: those rows charge nothing.
  CHECK(m.ledger_int("SELECT sum(cost_nanos) FROM attempts WHERE request_id = '" + res->request_id +
                     "' AND status = 'error'") == 0);
  // Every reservation was settled or released.
  auto all = m.api().spend_all();
  for (const auto& s : all) CHECK(s.reserved.nanos == 0);
}

TEST_CASE("a provider's max_retries sets how often a failing candidate is tried before the next", "[request]") {
  for (const int retries : {0, 2, 5}) {
    INFO("max_retries = " << retries);
    const std::string policy = "provider \"openai\" { max_retries = " + std::to_string(retries) + " }\n" +
                               "route \"default\" { try = { \"gpt-4o-mini\", \"deepseek-v4-flash\" } }\n";
    MockedEngine m(policy);
    m.mock->script("gpt-4o-mini", fault(MockFault::server_error));
    auto res = m.api().complete(chat("support", "hello"));
    REQUIRE(res.ok());
    CHECK(res->model == "deepseek-v4-flash");
    CHECK(m.mock->calls("gpt-4o-mini") == retries + 1);  // the first try and its retries
    CHECK(m.mock->calls("deepseek-v4-flash") == 1);
    CHECK(res->attempts == retries + 2);
  }
  // A provider without max_retries keeps the engine's default (2 tries).
  MockedEngine defaults(kPolicy);
  defaults.mock->script("gpt-4o-mini", fault(MockFault::server_error));
  REQUIRE(defaults.api().complete(chat("support", "hello")).ok());
  CHECK(defaults.mock->calls("gpt-4o-mini") == 2);
  // Out of range is a load error naming the file and line.
  TempDir dir;
  Options bad;
  bad.policy_paths = {dir.write("retries.lua", "\nprovider \"openai\" { max_retries = -1 }\n")};
  auto e = Engine::create(bad);
  REQUIRE_FALSE(e.ok());
  CHECK_THAT(e.error().message(), Catch::Contains("retries.lua:2:") && Catch::Contains("max_retries"));
}

TEST_CASE("an attempt cut after the provider read it is charged its prompt and one the provider never read is not", "[request][ledger]") {
  // deepseek's address refuses connections: the request never left.
  Options opts;
  opts.base_url_overrides["deepseek"] = "http://127.0.0.1:1/v1";
  opts.retry.max_attempts = 1;
  MockedEngine m(kPolicy, opts);
  // gpt-4o-mini reads the request, then resets the connection (no status,
  // no answer): the provider may still bill the prompt it read.
  m.mock->script("gpt-4o-mini", fault(MockFault::reset));
  auto res = m.api().complete(chat("support", "hello there, a prompt of some length", {{"task", "chain"}}));
  REQUIRE(res.ok());
  CHECK(res->model == "claude-haiku-4-5");
  const std::string id = res->request_id;
  const std::string where = "FROM attempts WHERE request_id = '" + id + "' ";
  CHECK(m.ledger_int("SELECT count(*) " + where + "AND status = 'error'") == 2);
  CHECK(m.ledger_int("SELECT count(*) " + where + "AND model = 'gpt-4o-mini' AND input_tokens > 0 AND "
                     "output_tokens = 0 AND cost_nanos > 0 AND error_message LIKE "
                     "'%charged an estimate: % input tokens, the prompt the provider had read when it stopped)'") == 1);
  CHECK(m.ledger_int("SELECT cost_nanos " + where + "AND model = 'deepseek-v4-flash'") == 0);
  CHECK(m.ledger_int("SELECT input_tokens " + where + "AND model = 'deepseek-v4-flash'") == 0);
  // The team pays for both what answered and the prompt that was cut, and
  // the response's cost says so.
  const int64_t total = m.ledger_int("SELECT sum(cost_nanos) " + where);
  CHECK(total > m.ledger_int("SELECT cost_nanos " + where + "AND status = 'ok'"));
  CHECK(res->cost.nanos == total);
  CHECK(m.api().spend("support", "day")->spent.nanos == total);
  for (const auto& s : m.api().spend_all()) CHECK(s.reserved.nanos == 0);
}

TEST_CASE("a request error fails at once with the provider's message", "[request]") {
  MockedEngine m(kPolicy);
  m.mock->script("gpt-4o-mini", fault(MockFault::bad_request));
  auto res = m.api().complete(chat("support", "hello"));
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().category() == ErrorCategory::bad_request);
  CHECK(res.error().message().find("gpt-4o-mini") != std::string::npos);
  CHECK(m.mock->calls("deepseek-v4-flash") == 0);
}

TEST_CASE("a spend cap denies with team, window, cap, spent and reserved", "[request][budget]") {
  MockedEngine m(kPolicy);
  Request r = chat("capped", "hello");
  r.max_tokens = 1000;  // worst case $0.0006 > the $0.0001 daily cap
  auto res = m.api().complete(r);
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().category() == ErrorCategory::budget);
  const std::string& msg = res.error().message();
  CHECK(msg.find("capped") != std::string::npos);
  CHECK(msg.find("day") != std::string::npos);
  CHECK(m.mock->total_calls() == 0);
  REQUIRE(m.api().flush().ok());
  CHECK(m.ledger_int("SELECT count(*) FROM attempts WHERE team = 'capped' AND status = 'denied'") == 1);
  CHECK(m.api().spend("capped", "day")->reserved.nanos == 0);
}

TEST_CASE("two engines on one ledger file enforce one cap", "[request][budget]") {
  // Two gateways (processes, here two engines with their own SQLite
  // connections) write one file: each one's caps count the other's spend.
  const char* policy = R"(
team "shared" { daily_usd = 0.001, on_exceed = "deny" }
route "default" { try = { "gpt-4o-mini" } }
)";
  MockedEngine a(policy);
  Options on_the_same_file;
  on_the_same_file.ledger_path = a.ledger_path;
  MockedEngine b(policy, on_the_same_file);
  adapters::MockBehavior wordy;
  for (int i = 0; i < 800; ++i) wordy.reply += "word ";
  a.mock->script("gpt-4o-mini", wordy);
  Request r = chat("shared", "hello");
  r.max_tokens = 1000;  // worst case ~$0.0006: fits the $0.001 cap alone, not after A's spend
  auto first = a.api().complete(r);
  REQUIRE(first.ok());
  CHECK(first->cost > Money::from_usd(0.0004));
  // B learns A's spend from the file, without a restart.
  REQUIRE(eventually([&] { return b.api().spend("shared", "day")->spent == first->cost; }));
  auto second = b.api().complete(r);
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().category() == ErrorCategory::budget);
  CHECK(b.mock->total_calls() == 0);
  // And A does not count its own row twice.
  REQUIRE(a.api().flush().ok());
  REQUIRE(b.api().flush().ok());  // B's denial row: free, and A's read of it charges nothing
  CHECK(a.api().spend("shared", "day")->spent == first->cost);
}

TEST_CASE("a team over its cap is downgraded, still under the cap", "[request][budget]") {
  MockedEngine m(kPolicy);
  Request r = chat("thrifty", "hello");
  r.max_tokens = 1000;  // gpt-4o-mini's worst case is over the cap; qwen3-8b's ($0.00001) is not
  auto res = m.api().complete(r);
  REQUIRE(res.ok());
  CHECK(res->downgraded);
  CHECK(res->route == "economy");
  CHECK(res->model == "qwen3-8b");
  CHECK(m.api().spend("thrifty", "day")->spent <= Money::from_usd(0.0001));
}

TEST_CASE("async_complete: callback, std::future and a C++20 coroutine", "[request]") {
  // Declared before the engine, so it goes after it: the engine's I/O
  // thread posts the coroutine's completion here and may still be waking
  // this io_context when run() returns; the engine's destructor joins it.
  boost::asio::io_context io;
  MockedEngine m(kPolicy);
  std::promise<Result<Response>> p;
  m.api().async_complete(chat("support", "callback"), [&](Result<Response> r) { p.set_value(std::move(r)); });
  CHECK(p.get_future().get().ok());

  auto fut = async_complete(m.api(), chat("support", "future"), boost::asio::use_future);
  CHECK(fut.get().ok());

  std::optional<Result<Response>> from_coroutine;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        from_coroutine = co_await async_complete(m.api(), chat("support", "coroutine"), boost::asio::use_awaitable);
      },
      boost::asio::detached);
  io.run();
  REQUIRE(from_coroutine.has_value());
  CHECK(from_coroutine->ok());
}

TEST_CASE("cancelling a streamed request ends it, frees its connection and its reservation", "[request]") {
  MockedEngine m(kPolicy);
  adapters::MockBehavior slow;
  slow.reply = "one two three four five six seven eight nine ten eleven twelve";
  slow.tokens_per_second = 2;  // a chunk every half second
  m.mock->script("gpt-4o-mini", slow);
  auto cancel = Cancellation::make();
  std::promise<Result<Response>> p;
  std::atomic<int> chunks{0};
  m.api().async_stream(
      chat("support", "slow please"),
      [&](const nlohmann::json&) {
        if (++chunks == 2) cancel->cancel();
      },
      [&](Result<Response> r) { p.set_value(std::move(r)); }, cancel);
  auto res = p.get_future().get();
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().category() == ErrorCategory::cancelled);
  CHECK_THAT(res.error().message(), Catch::Matchers::StartsWith("cancelled by the caller during"));
  for (const auto& s : m.api().spend_all()) CHECK(s.reserved.nanos == 0);
  // The provider generated, and bills, what was streamed before the cancel:
  // the team is charged an estimate of it, and the ledger shows it.
  REQUIRE(m.api().flush().ok());
  CHECK(m.ledger_int("SELECT count(*) FROM attempts WHERE status = 'error' AND error_category = 'cancelled' "
                     "AND output_tokens > 0 AND input_tokens > 0 AND cost_nanos > 0") == 1);
  const int64_t charged = m.ledger_int("SELECT cost_nanos FROM attempts WHERE error_category = 'cancelled'");
  CHECK(m.api().spend("support", "day")->spent.nanos == charged);
}

TEST_CASE("a caller's cancel reason reaches the error, with or without a deadline of the request's own", "[request]") {
  MockedEngine m(kPolicy);
  adapters::MockBehavior slow;
  slow.latency = std::chrono::seconds(30);
  m.mock->script("gpt-4o-mini", slow);
  for (const bool with_deadline : {false, true}) {
    auto cancel = Cancellation::make();
    Request r = chat("support", with_deadline ? "slow, with a deadline" : "slow");
    if (with_deadline) r.timeout_ms = 600'000;
    std::promise<Result<Response>> p;
    m.api().async_complete(r, [&](Result<Response> res) { p.set_value(std::move(res)); }, cancel);
    REQUIRE(eventually([&] { return m.mock->calls("gpt-4o-mini") == (with_deadline ? 2 : 1); }));
    cancel->cancel("the client closed the connection");
    auto res = p.get_future().get();
    REQUIRE_FALSE(res.ok());
    CHECK(res.error().category() == ErrorCategory::cancelled);
    CHECK_THAT(res.error().message(), Catch::Matchers::StartsWith("the client closed the connection during "));
  }
}

TEST_CASE("timeout_ms bounds the whole request: the attempt in flight is stopped, a timeout error, nothing left reserved", "[request]") {
  MockedEngine m(kPolicy);
  adapters::MockBehavior slow;
  slow.latency = std::chrono::seconds(30);  // far past any deadline below
  m.mock->script("gpt-4o-mini", slow);
  auto cancel = Cancellation::make();
  Request r = chat("support", "too slow");
  r.timeout_ms = 150;
  std::promise<Result<Response>> p;
  m.api().async_complete(r, [&](Result<Response> res) { p.set_value(std::move(res)); }, cancel);
  auto res = p.get_future().get();
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().category() == ErrorCategory::timeout);
  CHECK_THAT(res.error().message(), Catch::Matchers::StartsWith("the request did not finish within its timeout_ms of 150 ms: "));
  CHECK_THAT(res.error().message(), Catch::Matchers::Contains("stopped during") &&
                                        Catch::Matchers::Contains("gpt-4o-mini"));
  CHECK_THAT(res.error().message(), !Catch::Matchers::Contains("by the caller"));
  // The deadline is the request's own: the caller's Cancellation is untouched.
  CHECK_FALSE(cancel->cancelled());
  for (const auto& s : m.api().spend_all()) CHECK(s.reserved.nanos == 0);
  // The stopped attempt is in the ledger, charged the prompt the provider
  // had read (it may bill it), and the team pays that.
  REQUIRE(m.api().flush().ok());
  CHECK(m.ledger_int("SELECT count(*) FROM attempts WHERE status = 'error' AND error_category = 'cancelled' "
                     "AND input_tokens > 0 AND output_tokens = 0 AND cost_nanos > 0") == 1);
  CHECK(m.api().spend("support", "day")->spent.nanos ==
        m.ledger_int("SELECT cost_nanos FROM attempts WHERE error_category = 'cancelled'"));
}

TEST_CASE("timeout_ms: a retry whose wait would outlast the deadline is skipped for the next target", "[request]") {
  MockedEngine m(kPolicy);
  // The first choice is refused with Retry-After 1 s, longer than the whole
  // deadline: waiting could only end in a timeout, the fallback can answer.
  auto refused = fault(adapters::MockFault::unavailable);
  refused.retry_after = std::chrono::seconds(1);
  m.mock->script("gpt-4o-mini", refused);
  Request r = chat("support", "retry me");
  r.timeout_ms = 800;
  auto res = m.api().complete(r);
  REQUIRE(res.ok());
  CHECK(res->model == "deepseek-v4-flash");
  CHECK(m.mock->calls("gpt-4o-mini") == 1);
  CHECK(m.mock->calls("deepseek-v4-flash") == 1);

  // Every target refusing: the request ends at once with what each said,
  // not with a timeout after waiting out a backoff it could never finish.
  m.mock->script("deepseek-v4-flash", refused);
  Request both = chat("support", "retry me again");
  both.timeout_ms = 800;
  auto failed = m.api().complete(both);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().category() == ErrorCategory::provider);
  CHECK_THAT(failed.error().message(), Catch::Matchers::Contains("would outlast the request's deadline"));
  CHECK(m.mock->calls("gpt-4o-mini") == 2);
  CHECK(m.mock->calls("deepseek-v4-flash") == 2);
  for (const auto& s : m.api().spend_all()) CHECK(s.reserved.nanos == 0);
}

TEST_CASE("timeout_ms: a request that answers in time is unaffected, a bad value is a bad request", "[request]") {
  MockedEngine m(kPolicy);
  Request r = chat("support", "quick");
  r.timeout_ms = 60'000;
  auto res = m.api().complete(r);
  REQUIRE(res.ok());
  CHECK(res->model == "gpt-4o-mini");
  Request zero = chat("support", "zero");
  zero.timeout_ms = 0;
  auto bad = m.api().complete(zero);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().category() == ErrorCategory::bad_request);
  // A caller's own cancellation is still reported as such with a deadline set.
  adapters::MockBehavior slow;
  slow.latency = std::chrono::seconds(30);
  m.mock->script("gpt-4o-mini", slow);
  auto cancel = Cancellation::make();
  Request mine = chat("support", "mine to cancel");
  mine.timeout_ms = 60'000;
  std::promise<Result<Response>> p;
  m.api().async_complete(mine, [&](Result<Response> res2) { p.set_value(std::move(res2)); }, cancel);
  REQUIRE(eventually([&] { return m.mock->calls("gpt-4o-mini") >= 2; }));
  cancel->cancel();
  auto cancelled = p.get_future().get();
  REQUIRE_FALSE(cancelled.ok());
  CHECK(cancelled.error().category() == ErrorCategory::cancelled);
}

TEST_CASE("a reload that moves a provider to another base_url sends the next request there", "[request][reload]") {
  adapters::MockServerOptions mo;
  mo.threads = 1;
  mo.default_behavior.reply = "from A";
  auto a = adapters::MockServer::start(mo);
  REQUIRE(a);
  mo.default_behavior.reply = "from B";
  auto b = adapters::MockServer::start(mo);
  REQUIRE(b);
  TempDir dir;
  auto policy = [](const std::string& url, const std::string& region) {
    return "provider \"local\" { api = \"openai\", base_url = \"" + url + "\", labels = { region = \"" +
           region + "\" } }\n"
           "model \"local-model\" { provider = \"local\", input = 0.1, output = 0.1 }\n"
           "route \"default\" { try = { \"local-model\" } }\n";
  };
  Options opts;
  opts.policy_paths = {dir.write("policy.lua", policy((*a)->base_url(), "eu"))};
  auto e = Engine::create(opts);
  REQUIRE(e.ok());
  Engine& engine = **e;
  for (const char* text : {"one", "two"}) {  // the second reuses the adapter the first built
    auto r = engine.complete(chat("t", text));
    REQUIRE(r.ok());
    CHECK(text_of(*r) == "from A");
  }
  // A change the adapter does not depend on (a label) keeps it; a new
  // base_url rebuilds it.
  dir.write("policy.lua", policy((*a)->base_url(), "us"));
  REQUIRE(engine.reload().ok());
  auto same = engine.complete(chat("t", "three"));
  REQUIRE(same.ok());
  CHECK(text_of(*same) == "from A");
  dir.write("policy.lua", policy((*b)->base_url(), "us"));
  REQUIRE(engine.reload().ok());
  auto moved = engine.complete(chat("t", "four"));
  REQUIRE(moved.ok());
  CHECK(text_of(*moved) == "from B");
  CHECK((*a)->calls("local-model") == 3);
  CHECK((*b)->calls("local-model") == 1);
}

TEST_CASE("a caller reusing its request id loses no ledger row: the later request's rows get a suffix", "[request]") {
  MockedEngine m(kPolicy);
  Request r = chat("support", "first");
  r.id = "client-7";
  auto first = m.api().complete(r);
  REQUIRE(first.ok());
  r.body["messages"][0]["content"] = "second, same id";
  auto second = m.api().complete(r);
  REQUIRE(second.ok());
  CHECK(second->request_id == "client-7");
  REQUIRE(m.api().flush().ok());
  CHECK(m.ledger_int("SELECT count(*) FROM attempts WHERE request_id = 'client-7'") == 1);
  CHECK(m.ledger_int("SELECT count(*) FROM attempts WHERE request_id LIKE 'client-7~%'") == 1);
  CHECK(m.ledger_int("SELECT sum(cost_nanos) FROM attempts WHERE request_id LIKE 'client-7%'") ==
        first->cost.nanos + second->cost.nanos);
}

TEST_CASE("a ledger another process has locked: the embedder hears of it, and the row is written after", "[request]") {
  std::mutex mu;
  std::vector<std::string> errors;
  Options opts;
  opts.durability = Durability::async;
  opts.on_ledger_error = [&](const Error& e) {
    std::lock_guard lock(mu);
    errors.push_back(e.message());
  };
  MockedEngine m(kPolicy, opts);
  sqlite3* other = nullptr;
  REQUIRE(sqlite3_open(m.ledger_path.c_str(), &other) == SQLITE_OK);
  REQUIRE(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  auto res = m.api().complete(chat("support", "while the ledger is locked"));
  REQUIRE(res.ok());  // async: answered, the row waits
  // The writer gives up on the lock after its busy timeout (5 s).
  CHECK(eventually([&] {
    std::lock_guard lock(mu);
    return !errors.empty();
  }));
  {
    std::lock_guard lock(mu);
    CHECK_THAT(errors.front(), Catch::Contains("another process holds the database lock") &&
                                   Catch::Contains("waits in memory"));
  }
  REQUIRE(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(other);
  const std::string row = "SELECT count(*) FROM attempts WHERE request_id = '" + res->request_id + "'";
  CHECK(eventually([&] { return m.ledger_int(row) == 1; }));
  CHECK(m.ledger_int("SELECT cost_nanos FROM attempts WHERE request_id = '" + res->request_id + "'") ==
        res->cost.nanos);
}

TEST_CASE("record_quality scores a request, bad ids and scores are clear errors", "[request]") {
  MockedEngine m(kPolicy);
  auto res = m.api().complete(chat("support", "rate me", {{"task", "classify"}}));
  REQUIRE(res.ok());
  CHECK(m.api().record_quality(res->request_id, 0.9, "thumbs").ok());
  auto bad = m.api().record_quality("tg-nope", 0.5);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().category() == ErrorCategory::bad_request);
  CHECK(m.api().record_quality(res->request_id, 1.5).error().category() == ErrorCategory::bad_request);
}

TEST_CASE("a restart rebuilds spend from the ledger: caps do not reset", "[request][budget]") {
  MockedEngine m(kPolicy);
  Request r = chat("support", "remember me");
  r.max_tokens = 50;
  auto res = m.api().complete(r);
  REQUIRE(res.ok());
  const Money before = m.api().spend("support", "day")->spent;
  CHECK(before == res->cost);
  Options again;
  again.policy_paths = {m.dir.file("policy.lua")};
  again.ledger_path = m.ledger_path;
  again.base_url_overrides["*"] = m.mock->base_url();
  m.restart(again);
  CHECK(m.api().spend("support", "day")->spent == before);
}

TEST_CASE("200 concurrent requests from 8 threads: all answered, nothing left reserved", "[request][concurrency]") {
  // The engine's I/O on two threads (strands), and on one (none).
  Options o;
  o.threads = GENERATE(2u, 1u);
  INFO("engine I/O threads: " << o.threads);
  MockedEngine m(kPolicy, o);
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::future<Result<Response>>> futures;
      for (int i = 0; i < 25; ++i) {
        Request r = chat("team" + std::to_string(t % 3), "hi " + std::to_string(i));
        r.answer_as_text = i % 2 == 0;
        if (i % 5 == 0) {  // some streamed, on the caller's thread
          futures.push_back(std::async(std::launch::async, [&m, r] {
            return m.api().stream(r, [](const nlohmann::json&) {});
          }));
        } else {
          futures.push_back(async_complete(m.api(), std::move(r), boost::asio::use_future));
        }
      }
      for (auto& f : futures) (f.get().ok() ? ok : failed)++;
    });
  }
  for (auto& th : threads) th.join();
  CHECK(ok == 200);
  CHECK(failed == 0);
  for (const auto& s : m.api().spend_all()) CHECK(s.reserved.nanos == 0);
  REQUIRE(m.api().flush().ok());
  CHECK(m.ledger_int("SELECT count(*) FROM attempts WHERE status = 'ok'") == 200);
  CHECK(m.ledger_int("SELECT count(DISTINCT request_id) FROM attempts") == 200);
}

// Ids start with the time so the ledger's (request_id, attempt) index grows
// at its right edge; the 16 random digits after it keep them unique.
TEST_CASE("request ids start with their time in ms and sort by arrival", "[request]") {
  MockedEngine m(kPolicy);
  auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  std::string previous;
  for (int i = 0; i < 5; ++i) {
    const int64_t before = now_ms();
    auto res = m.api().complete(chat("support", "hi " + std::to_string(i)));
    const int64_t after = now_ms();
    REQUIRE(res.ok());
    const std::string& id = res->request_id;
    REQUIRE(id.size() == 3 + 12 + 16);
    CHECK(id.rfind("tg-", 0) == 0);
    CHECK(id.find_first_not_of("0123456789abcdef", 3) == std::string::npos);
    const int64_t stamped = std::stoll(id.substr(3, 12), nullptr, 16);
    CHECK(stamped >= before);
    CHECK(stamped <= after);
    // Later requests never sort before earlier ones: the time prefix only
    // grows (equal within one millisecond, where the random part decides).
    if (!previous.empty()) CHECK(id.substr(0, 15) >= previous.substr(0, 15));
    previous = id;
  }
}

TEST_CASE("keys given to the engine never reach errors or the ledger", "[request]") {
  Options opts;
  opts.api_keys["openai"] = "sk-very-secret-123";
  MockedEngine m(kPolicy, opts);
  m.mock->script("gpt-4o-mini", fault(MockFault::unauthorized));
  auto res = m.api().complete(chat("support", "hello"));
  REQUIRE_FALSE(res.ok());
  CHECK(res.error().message().find("sk-very-secret") == std::string::npos);
  REQUIRE(m.api().flush().ok());
  CHECK(m.ledger_int("SELECT count(*) FROM attempts WHERE error_message LIKE '%sk-very-secret%' "
                     "OR tags LIKE '%sk-very%'") == 0);
}

TEST_CASE("a key given with its trailing newline is refused by name and never sent or shown", "[request]") {
  Options opts;
  opts.api_keys["openai"] = "sk-newline-secret-123\n";
  opts.api_keys["deepseek"] = "sk-newline-secret-456\n";  // the default route's fallback
  MockedEngine m(kPolicy, opts);
  auto res = m.api().complete(chat("support", "hello"));
  REQUIRE_FALSE(res.ok());
  const std::string& message = res.error().message();
  INFO(message);
  CHECK(message.find("provider 'openai': the value of header 'Authorization' holds a line break") !=
        std::string::npos);
  CHECK(message.find("provider 'openai': provider 'openai'") == std::string::npos);
  CHECK(message.find("sk-newline") == std::string::npos);
  CHECK(m.mock->total_calls() == 0);
}

TEST_CASE("without a ledger, requests still route, cap and answer", "[request]") {
  MockedEngine m(kPolicy, {}, /*with_ledger=*/false);
  auto res = m.api().complete(chat("support", "no ledger"));
  REQUIRE(res.ok());
  CHECK(m.api().record_quality(res->request_id, 0.5).error().category() == ErrorCategory::config);
  CHECK(m.api().flush().ok());
}

namespace {

// An engine on an io_context the test owns, run by one thread of its own,
// as an embedder lends its executor; providers point at `m`'s mock.
struct EngineOnExecutor {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard = boost::asio::make_work_guard(io);
  std::thread runner{[this] { io.run(); }};
  std::unique_ptr<Engine> engine;

  explicit EngineOnExecutor(MockedEngine& m) {
    Options opts;
    opts.policy_paths = {m.dir.file("policy.lua")};
    opts.base_url_overrides["*"] = m.mock->base_url();
    auto created = create_engine(opts, io.get_executor());
    if (!created.ok()) FAIL(created.error().what());
    engine = std::move(*created);
  }
  ~EngineOnExecutor() {
    engine.reset();
    guard.reset();
    runner.join();
  }
  EngineOnExecutor(const EngineOnExecutor&) = delete;
  EngineOnExecutor& operator=(const EngineOnExecutor&) = delete;
};

}  // namespace

TEST_CASE("an engine on the embedder's executor runs its I/O and completions there", "[request]") {
  MockedEngine m(kPolicy, {}, /*with_ledger=*/false);
  EngineOnExecutor e(m);
  std::promise<std::pair<bool, std::thread::id>> done;
  e.engine->async_complete(chat("support", "on your executor"), [&](Result<Response> r) {
    done.set_value({r.ok(), std::this_thread::get_id()});
  });
  const auto [ok, where] = done.get_future().get();
  CHECK(ok);
  CHECK(where == e.runner.get_id());  // the embedder's thread, not one of the engine's
}

TEST_CASE("an engine destroyed inside its own DoneFn tears down once the callback returns", "[request][concurrency]") {
  MockedEngine m(kPolicy);
  std::promise<bool> finished;
  Engine* raw = m.engine.get();
  raw->async_complete(chat("support", "last words"), [&](Result<Response> r) {
    m.engine.reset();  // from an engine I/O thread, inside the request's own callback
    finished.set_value(r.ok());
  });
  auto f = finished.get_future();
  REQUIRE(f.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  CHECK(f.get());
  // The teardown closes the ledger, committing the request's row.
  REQUIRE(eventually([] { return engine::background_teardowns() == 0; }));
  CHECK(m.ledger_int("SELECT count(*) FROM attempts WHERE status = 'ok'") == 1);
}

TEST_CASE("on the embedder's executor: complete() there is refused, destroying the engine in a callback is safe", "[request][concurrency]") {
  MockedEngine m(kPolicy, {}, /*with_ledger=*/false);
  EngineOnExecutor e(m);
  // A blocking call on the only thread that runs the executor would wait on itself.
  std::promise<Result<Response>> blocked;
  boost::asio::post(e.io, [&] { blocked.set_value(e.engine->complete(chat("support", "deadlock?"))); });
  auto b = blocked.get_future();
  REQUIRE(b.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  auto refused = b.get();
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().category() == ErrorCategory::internal);
  CHECK_THAT(refused.error().message(), Catch::Contains("runs the engine's executor"));
  // And the engine may be destroyed inside its own callback there too.
  std::promise<bool> finished;
  e.engine->async_complete(chat("support", "bye"), [&](Result<Response> r) {
    e.engine.reset();
    finished.set_value(r.ok());
  });
  auto f = finished.get_future();
  REQUIRE(f.wait_for(std::chrono::seconds(60)) == std::future_status::ready);
  CHECK(f.get());
  // The teardown's sockets live on the test's io_context: it must outlive them.
  REQUIRE(eventually([] { return engine::background_teardowns() == 0; }));
}
