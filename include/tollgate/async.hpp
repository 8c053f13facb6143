// tollgate with Asio: completion tokens, and an engine on your executor.
//
//   // callback, std::future, or C++20 coroutine:
//   tollgate::async_complete(*engine, req, [](tollgate::Result<tollgate::Response> r) { ... });
//   auto fut = tollgate::async_complete(*engine, req, boost::asio::use_future);
//   auto r = co_await tollgate::async_complete(*engine, req, boost::asio::use_awaitable);
//
// The completion signature is void(tollgate::Result<tollgate::Response>).
// The handler runs on its associated executor (a coroutine's, a strand...),
// or on the engine's I/O thread when it has none. A cancellation slot bound
// to the token (boost::asio::bind_cancellation_slot) cancels the request.
#pragma once

#include <memory>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include "tollgate/engine.hpp"

namespace tollgate {

// An engine whose network I/O and completions run on `executor` (yours)
// instead of threads of its own. The executor must stay valid, and be run,
// for the engine's lifetime.
Result<std::unique_ptr<Engine>> create_engine(Options options, boost::asio::any_io_executor executor);

namespace detail {

template <typename Handler>
auto complete_via(Handler&& handler) {
  using H = std::decay_t<Handler>;
  auto slot = boost::asio::get_associated_cancellation_slot(handler);
  std::shared_ptr<Cancellation> cancel;
  if (slot.is_connected()) {
    cancel = Cancellation::make();
    slot.assign([cancel](boost::asio::cancellation_type) { cancel->cancel(); });
  }
  // The handler may be move-only (use_future, use_awaitable): hold it in a
  // shared_ptr so the engine's std::function callback stays copyable.
  auto held = std::make_shared<H>(std::forward<Handler>(handler));
  Engine::DoneFn done = [held](Result<Response> result) mutable {
    auto ex = boost::asio::get_associated_executor(*held, boost::asio::system_executor());
    boost::asio::dispatch(ex, [held, r = std::move(result)]() mutable { std::move(*held)(std::move(r)); });
  };
  return std::make_pair(std::move(done), std::move(cancel));
}

}  // namespace detail

template <typename CompletionToken>
auto async_complete(Engine& engine, Request request, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(Result<Response>)>(
      [&engine](auto handler, Request&& req) {
        auto [done, cancel] = detail::complete_via(std::move(handler));
        engine.async_complete(std::move(req), std::move(done), std::move(cancel));
      },
      token, std::move(request));
}

template <typename CompletionToken>
auto async_stream(Engine& engine, Request request, Engine::DeltaFn on_delta, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(Result<Response>)>(
      [&engine](auto handler, Request&& req, Engine::DeltaFn&& deltas) {
        auto [done, cancel] = detail::complete_via(std::move(handler));
        engine.async_stream(std::move(req), std::move(deltas), std::move(done), std::move(cancel));
      },
      token, std::move(request), std::move(on_delta));
}

}  // namespace tollgate
