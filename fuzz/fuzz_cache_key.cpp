// Cache key canonicalization. The input is a request body (JSON; anything
// else is keyed as a scope string instead). Invariants: the key is
// deterministic; it survives a round trip through the JSON text, compact or
// pretty-printed (whitespace and spelling do not matter); fields the key
// excludes (user, stream, metadata, ...) do not change it; the scope, the
// max_tokens and the candidate list do; the hex form round-trips.
#include <array>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/cache/cache_key.hpp"
#include "fuzz/fuzz_check.hpp"

using nlohmann::json;
using tollgate::engine::CacheKey;
using tollgate::engine::CacheKeyer;

namespace {

const CacheKeyer& keyer() {
  static const CacheKeyer k([] {
    tollgate::engine::CacheKeySecret s{};
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<uint8_t>(i * 37 + 11);
    return s;
  }());
  return k;
}

constexpr std::array<std::string_view, 2> kModels = {"model-a", "model-b"};

CacheKey key_of(const json& body, std::string_view scope = "team") {
  return keyer().key(scope, body, 256, kModels);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view text = tollgate::fuzz::as_text(data, size);
  const json body = json::parse(text, nullptr, false);
  if (body.is_discarded()) {
    // Not JSON: exercise the scope and the hex form instead.
    const CacheKey k = keyer().key(text, json::object(), 0, {});
    FUZZ_CHECK(k == keyer().key(text, json::object(), 0, {}));
    CacheKey back{};
    FUZZ_CHECK(tollgate::engine::cache_key_from_hex(tollgate::engine::to_hex(k), back) && back == k);
    CacheKey parsed{};
    if (tollgate::engine::cache_key_from_hex(text, parsed)) FUZZ_CHECK(tollgate::engine::to_hex(parsed) == text);
    return 0;
  }

  const CacheKey k = key_of(body);
  FUZZ_CHECK(k == key_of(body));
  FUZZ_CHECK(key_of(json::parse(body.dump())) == k);
  FUZZ_CHECK(key_of(json::parse(body.dump(2))) == k);

  if (body.is_object()) {
    json noisy = body;
    noisy["user"] = "someone-else";
    noisy["stream"] = !(body.contains("stream") && body["stream"] == true);
    noisy["metadata"] = {{"task", "fuzz"}};
    FUZZ_CHECK(key_of(noisy) == k);
    json changed = body;
    changed["temperature"] = body.contains("temperature") ? json(nullptr) : json(0.5);
    FUZZ_CHECK(key_of(changed) != k);
  }

  // Everything else that is part of the key (a 128-bit collision here
  // would be news).
  FUZZ_CHECK(key_of(body, "other-team") != k);
  FUZZ_CHECK(keyer().key("team", body, 257, kModels) != k);
  const std::array<std::string_view, 2> swapped = {kModels[1], kModels[0]};
  FUZZ_CHECK(keyer().key("team", body, 256, swapped) != k);
  return 0;
}
