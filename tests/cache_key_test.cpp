// The cache key: SipHash against the reference vectors, and which requests
// are (and are not) the same request.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "engine/cache/cache_key.hpp"

using namespace tollgate::engine;
using nlohmann::json;

namespace {

CacheKeySecret reference_key() {
  CacheKeySecret k;
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i);
  return k;
}

// The tag as the reference implementation prints it: lo then hi, little-endian.
std::string tag_hex(const Hash128& h) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (uint64_t part : {h.lo, h.hi}) {
    for (int i = 0; i < 8; ++i) {
      const auto b = static_cast<unsigned>(part >> (8 * i)) & 0xff;
      s += digits[b >> 4];
      s += digits[b & 15];
    }
  }
  return s;
}

const std::vector<std::string_view> kModels = {"deepseek-v4-flash", "gpt-4o"};

CacheKey key_of(const json& body, std::string_view scope = "team-a",
                const std::vector<std::string_view>& models = kModels, int64_t max_tokens = 0) {
  static const CacheKeyer keyer(reference_key());
  return keyer.key(scope, body, max_tokens, models);
}

json base() {
  return json::parse(R"({"messages":[{"role":"system","content":"Be brief."},
                                     {"role":"user","content":"What is 2+2?"}],
                         "temperature":0.2,"max_tokens":100})");
}

using Vectors = std::vector<std::pair<std::size_t, std::string>>;

// Each vector's message (bytes 00..len-1) hashed whole, and again fed in
// pieces of 1 to 6 bytes, under the reference key.
template <int C, int D>
void check_vectors(const Vectors& vectors) {
  std::string msg;
  for (int i = 0; i < 64; ++i) msg += static_cast<char>(i);
  for (const auto& [len, expected] : vectors) {
    INFO("message length " << len);
    SipHasher128<C, D> whole(reference_key());
    whole.update(std::string_view(msg).substr(0, len));
    CHECK(tag_hex(whole.finish()) == expected);

    SipHasher128<C, D> pieces(reference_key());
    std::size_t off = 0, step = 1;
    while (off < len) {
      const std::size_t take = std::min(step, len - off);
      if (take == 1) {
        pieces.update_byte(static_cast<uint8_t>(msg[off]));
      } else {
        pieces.update(std::string_view(msg).substr(off, take));
      }
      off += take;
      step = step % 5 + 2;
    }
    CHECK(tag_hex(pieces.finish()) == expected);
  }
}

}  // namespace

TEST_CASE("SipHash-2-4-128 matches the reference vectors, fed whole or in pieces") {
  // vectors_sip128 of github.com/veorq/SipHash: key 00..0f, message 00..len-1.
  check_vectors<2, 4>({
      {0, "a3817f04ba25a8e66df67214c7550293"},  {1, "da87c1d86b99af44347659119b22fc45"},
      {7, "a1f1ebbed8dbc153c0b84aa61ff08239"},  {8, "3b62a9ba6258f5610f83e264f31497b4"},
      {9, "264499060ad9baabc47f8b02bb6d71ed"},  {15, "5493e99933b0a8117e08ec0f97cfc3d9"},
      {16, "6ee2a4ca67b054bbfd3315bf85230577"}, {17, "473d06e8738db89854c066c47ae47740"},
      {63, "5150d1772f50834a503e069a973fbd7c"},
  });
}

TEST_CASE("SipHash-1-3-128, the cache key's hash, matches the reference implementation") {
  // The reference repository (github.com/veorq/SipHash) publishes 128-bit
  // vectors for 2-4 only. The only published 1-3 128-bit vector found is
  // the empty message's (the Rust siphasher crate's test_siphash128_1_3).
  // The rest come from the reference siphash.c built with cROUNDS=1
  // dROUNDS=3 (the same build reproduces vectors_sip128 above and that
  // published vector). Same key and messages as above.
  check_vectors<1, 3>({
      {0, "e77ebcb22788a5befd62db6add303001"},  {1, "fc6f370460d3eda85e0573cc2b2ff063"},
      {2, "75787f090569839b855bc9548c6aea95"},  {7, "1084b923f2aae0c3a62f2ec80848ab77"},
      {8, "aa12fee1d5e3dab4724f16ab35f9c799"},  {9, "81ddb8042cf33994f4720e0094137c42"},
      {15, "c17e5505b2bd526c2921cdec1e7e0109"}, {16, "d0a8d95715518eebb513b0f83d9e1793"},
      {17, "234126f93fbb668d975112e8febdf7ec"}, {31, "42ea961c5b3c858b17c3e550dfa79010"},
      {32, "406c44dee67857b2943160f30c7417d3"}, {33, "c5f57bae1320fcf4b4e868e71d56c66b"},
      {56, "94ec2e19a40be41af3940d6b30c49384"}, {63, "4c5800e34efe426f079f6b0aa75260ad"},
  });
}

TEST_CASE("streamed input that crosses the internal buffer hashes as one piece") {
  std::string data(1000, 'x');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 + 7);
  SipHasher128<1, 3> whole(reference_key());
  whole.update(data);
  const Hash128 expected = whole.finish();
  for (std::size_t step : {1, 3, 8, 63, 64, 65, 200}) {
    SipHasher128<1, 3> h(reference_key());
    for (std::size_t off = 0; off < data.size(); off += step) {
      h.update(std::string_view(data).substr(off, step));
    }
    CHECK(h.finish() == expected);
  }
}

TEST_CASE("canonicalization: key order, whitespace and number spelling do not matter") {
  const CacheKey k = key_of(base());
  CHECK(key_of(json::parse(R"({ "max_tokens" : 100, "temperature" : 0.20,
      "messages" : [ { "content" : "Be brief.", "role" : "system" },
                     { "content" : "What is 2+2?", "role" : "user" } ] })")) == k);
  // 100 as a float, and as an unsigned.
  json b = base();
  b["max_tokens"] = 100.0;
  CHECK(key_of(b) == k);
  b["max_tokens"] = 100U;
  CHECK(key_of(b) == k);
  CHECK(key_of(json::parse(R"({"messages":[{"role":"system","content":"Be brief."},
      {"role":"user","content":"What is 2+2?"}],"temperature":2e-1,"max_tokens":1e2})")) == k);
  // -0.0 and 0 are the same number.
  json z1 = base(), z2 = base();
  z1["temperature"] = 0;
  z2["temperature"] = -0.0;
  CHECK(key_of(z1) == key_of(z2));
}

TEST_CASE("canonicalization: fields that do not change the output are left out") {
  const CacheKey k = key_of(base());
  for (const char* field : {"user", "metadata", "stream", "stream_options", "store",
                            "service_tier", "model", "prompt_cache_key", "safety_identifier"}) {
    json b = base();
    b[field] = json::parse(R"({"anything": [1, "x"]})");
    INFO(field);
    CHECK(key_of(b) == k);
  }
  json b = base();
  b["stream"] = true;
  b["stream_options"] = {{"include_usage", true}};
  b["user"] = "alice";
  CHECK(key_of(b) == k);
}

TEST_CASE("canonicalization: anything that changes the output changes the key") {
  const CacheKey k = key_of(base());
  auto differs = [&](const json& b) { return key_of(b) != k; };

  json b = base();
  b["messages"][1]["content"] = "What is 2+3?";
  CHECK(differs(b));
  b = base();
  b["messages"][1]["content"] = "What is 2+2? ";  // whitespace inside a string counts
  CHECK(differs(b));
  b = base();
  std::swap(b["messages"][0], b["messages"][1]);  // message order counts
  CHECK(differs(b));
  b = base();
  b["temperature"] = 0.3;
  CHECK(differs(b));
  b = base();
  b["temperature"] = "0.2";  // a string is not a number
  CHECK(differs(b));
  for (const char* field : {"n", "seed", "top_p", "parallel_tool_calls", "tools", "tool_choice",
                            "response_format", "stop", "logit_bias", "frequency_penalty"}) {
    b = base();
    b[field] = 1;
    INFO(field);
    CHECK(differs(b));
  }
  b = base();
  b["max_tokens"] = 101;
  CHECK(differs(b));
  // Excluded names are excluded only at the top level.
  b = base();
  b["messages"][1]["user"] = "x";
  CHECK(differs(b));
  // null is a value, not an absent field.
  b = base();
  b["seed"] = nullptr;
  CHECK(differs(b));
  // [] and {} differ; nesting boundaries are part of the form.
  json arr = base(), obj = base();
  arr["x"] = json::array();
  obj["x"] = json::object();
  CHECK(key_of(arr) != key_of(obj));
  json ab = base(), a_b = base();
  ab["x"] = json::array({"ab"});
  a_b["x"] = json::array({"a", "b"});
  CHECK(key_of(ab) != key_of(a_b));
}

TEST_CASE("the key includes scope, candidates in order, and the request's max_tokens") {
  const CacheKey k = key_of(base());
  CHECK(key_of(base(), "team-b") != k);
  CHECK(key_of(base(), "") != k);  // shared scope
  CHECK(key_of(base(), "team-a", {"gpt-4o", "deepseek-v4-flash"}) != k);
  CHECK(key_of(base(), "team-a", {"deepseek-v4-flash"}) != k);
  CHECK(key_of(base(), "team-a", kModels, 50) != k);
  // Boundaries between scope and model names are unambiguous.
  CHECK(key_of(base(), "ab", {"c"}) != key_of(base(), "a", {"bc"}));
}

TEST_CASE("a different secret gives unrelated keys, keys round-trip through hex") {
  CacheKeySecret other = reference_key();
  other[0] ^= 1;
  const CacheKeyer a(reference_key()), b(other);
  const CacheKey ka = a.key("t", base(), 0, kModels);
  CHECK(ka != b.key("t", base(), 0, kModels));
  const std::string hex = to_hex(ka);
  CHECK(hex.size() == 32);
  CacheKey back;
  REQUIRE(cache_key_from_hex(hex, back));
  CHECK(back == ka);
  CHECK_FALSE(cache_key_from_hex("xyz", back));
  CHECK_FALSE(cache_key_from_hex(std::string(32, 'G'), back));
  CHECK(random_cache_key_secret() != random_cache_key_secret());
}
