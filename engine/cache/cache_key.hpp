// The response cache's key: a 128-bit keyed hash of the canonical request.
//
// In the key: the scope (the team's name, or "" for a `shared` route), every
// top-level field of the chat-completions body except those listed in
// kCacheKeyExcludedFields (messages in full, temperature, top_p, n, seed,
// tools, tool_choice, parallel_tool_calls, response_format, max_tokens,
// stop, logit_bias, vendor extensions, ...), the request's own max_tokens,
// and the ordered candidate model ids. Out: fields that do not change what
// the model writes (user, metadata, stream, store, ...). docs/cache.md has
// the full list and the reasons.
//
// Canonical means: object keys in sorted order (nlohmann::json keeps them
// sorted), no whitespace (the DOM has none), and numbers by value: a float
// with an integral value in int64 range hashes as that integer, so 1, 1.0
// and 1e0 are one key; 0.7 and 0.70 parse to the same double. The form is
// hashed while the DOM is walked, never built as a string. Every value is
// written with a type tag, every string and array with its length, every
// object field with a marker and the object with an end marker, so distinct
// requests never map to the same byte stream.
//
// The hash is SipHash-1-3 with a 128-bit tag under a secret 16-byte key
// (random per process, or kept in the cache store so a restart finds its
// persisted entries): accidental collisions are ~n^2 / 2^129 (nil), and
// crafted ones need the secret.
//
// Thread safety: a CacheKeyer is immutable after construction; call key()
// from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/cache/siphash.hpp"

namespace tollgate::engine {

using CacheKey = Hash128;

struct CacheKeyHash {
  std::size_t operator()(const CacheKey& k) const noexcept { return static_cast<std::size_t>(k.lo); }
};

// 32 lowercase hex digits (hi then lo): how the store and logs spell a key.
std::string to_hex(const CacheKey& key);
bool cache_key_from_hex(std::string_view hex, CacheKey& out);

// Top-level body fields left out of the key, sorted.
inline constexpr std::array<std::string_view, 9> kCacheKeyExcludedFields = {
    "metadata",          // the caller's labels
    "model",             // ignored: the policy chooses (the candidates are in the key)
    "prompt_cache_key",  // a provider-side prompt-cache hint
    "safety_identifier", // who asked (abuse tracking)
    "service_tier",      // latency/price class, same model
    "store",             // whether the provider keeps the completion
    "stream",            // a streamed answer is the same answer (it is replayed)
    "stream_options",    // include_usage etc.: framing only
    "user",              // who asked
};

using CacheKeySecret = std::array<uint8_t, 16>;
// 16 bytes from std::random_device.
CacheKeySecret random_cache_key_secret();

class CacheKeyer {
 public:
  explicit CacheKeyer(const CacheKeySecret& secret) : secret_(secret) {}

  // scope: the team, or "" for a shared route. body: the request body.
  // max_tokens: Request::max_tokens when set, else 0. models: the candidate
  // model ids in order.
  CacheKey key(std::string_view scope, const nlohmann::json& body, int64_t max_tokens,
               std::span<const std::string_view> models) const;

  const CacheKeySecret& secret() const { return secret_; }

 private:
  CacheKeySecret secret_;
};

}  // namespace tollgate::engine
