// One request through the engine: decide, reserve against the caps (deny
// or downgrade), dispatch to the candidates, settle the real cost, write the
// ledger, answer. Lives on the heap for the duration of the request; every
// step after start() runs on a dispatch strand or the ledger's writer, and
// the answer is delivered exactly once, never inside the call that began it.
#pragma once

#include <memory>

#include "engine/engine_impl.hpp"

namespace tollgate::engine {

// `on_head` (may be null): for a stream, see EngineImpl::async_stream_with_head.
void start_request(std::shared_ptr<EngineCore> core, Request request, Engine::DeltaFn on_delta,
                   Engine::DoneFn done, const std::shared_ptr<Cancellation>& cancel,
                   StreamHeadFn on_head = nullptr);

// The adapters' cancel signal behind a public Cancellation (null if none).
std::shared_ptr<adapters::CancelSignal> cancel_signal_of(const std::shared_ptr<Cancellation>& c);

}  // namespace tollgate::engine
