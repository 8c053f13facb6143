// Shared by the adapters and dispatch tests: an I/O thread pool, a mock
// provider on loopback, and a blocking wrapper around Provider::async_chat
// that waits on the result with a generous deadline (never a sleep).
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "mock/mock_server.hpp"
#include "adapters/providers/provider.hpp"
#include "adapters/http/serial_executor.hpp"
#include "test_support.hpp"

namespace tollgate::test {

using namespace std::chrono_literals;
using nlohmann::json;

// Long enough for a loaded sanitizer build; tests never wait this long
// unless something is broken.
inline constexpr auto kDeadline = 60s;

class IoThreads {
 public:
  // One thread: marked as such, as tollgate's own runtimes mark theirs, so
  // connections run on the io_context's executor instead of strands.
  explicit IoThreads(unsigned n = 2) : work_(ioc_.get_executor()) {
    if (n == 1) adapters::mark_run_by_one_thread(ioc_);
    for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this] { ioc_.run(); });
  }
  ~IoThreads() {
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_) t.join();
  }
  boost::asio::any_io_executor executor() { return ioc_.get_executor(); }

 private:
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

inline std::unique_ptr<adapters::MockServer> start_mock(adapters::MockServerOptions o = {}) {
  auto m = adapters::MockServer::start(std::move(o));
  REQUIRE(m.ok());
  return std::move(*m);
}

inline std::shared_ptr<adapters::Provider> make(boost::asio::any_io_executor ex,
                                                adapters::ProviderConfig c) {
  auto p = adapters::make_provider(std::move(ex), std::move(c));
  if (!p) FAIL(p.error());
  return *p;
}

inline adapters::ProviderConfig mock_config(const adapters::MockServer& mock,
                                            adapters::ApiKind api = adapters::ApiKind::openai) {
  adapters::ProviderConfig c;
  c.name = "mock";
  c.api = api;
  c.base_url = mock.base_url();
  return c;
}

inline json chat_body(std::string text = "Say hello to the tests.") {
  return json{{"messages", json::array({{{"role", "user"}, {"content", std::move(text)}}})}};
}

// Collects deltas (called on I/O threads).
struct Deltas {
  std::mutex mu;
  std::vector<json> chunks;
  adapters::DeltaFn fn() {
    return [this](const json& c) {
      std::lock_guard lock(mu);
      chunks.push_back(c);
    };
  }
  // The text of every content delta, in order.
  std::string text() {
    std::lock_guard lock(mu);
    std::string out;
    for (const auto& c : chunks) {
      for (const auto& ch : c["choices"]) {
        if (ch.contains("delta") && ch["delta"].contains("content") && ch["delta"]["content"].is_string()) {
          out += ch["delta"]["content"].get<std::string>();
        }
      }
    }
    return out;
  }
};

inline adapters::ChatResult call(adapters::Provider& p, const json& body, std::string_view model,
                                 bool stream = false, adapters::DeltaFn on_delta = nullptr,
                                 std::shared_ptr<adapters::CancelSignal> cancel = nullptr,
                                 adapters::AnswerForm form = adapters::AnswerForm::json) {
  auto promise = std::make_shared<std::promise<adapters::ChatResult>>();
  auto future = promise->get_future();
  p.async_chat(body, model, stream, form, std::move(on_delta), std::move(cancel),
               [promise](adapters::ChatResult r) { promise->set_value(std::move(r)); });
  REQUIRE(future.wait_for(kDeadline) == std::future_status::ready);
  return future.get();
}

// By value: callers pass call(...)'s temporary straight in.
inline adapters::ChatResponse ok(adapters::ChatResult r) {
  if (const auto* f = std::get_if<adapters::Failure>(&r)) {
    FAIL("expected an answer, got " << adapters::to_string(f->kind) << ": " << f->message);
  }
  return std::get<adapters::ChatResponse>(std::move(r));
}

inline adapters::Failure failed(adapters::ChatResult r) {
  if (auto* a = std::get_if<adapters::ChatResponse>(&r)) FAIL("expected a failure, got " << a->body.dump());
  return std::get<adapters::Failure>(std::move(r));
}

inline std::string content_of(const json& completion) {
  const auto& c = completion["choices"][0]["message"]["content"];
  return c.is_string() ? c.get<std::string>() : std::string();
}

using testing::eventually;  // waits for a condition, tests/test_support.hpp

}  // namespace tollgate::test
