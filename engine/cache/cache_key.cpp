#include "engine/cache/cache_key.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

namespace tollgate::engine {

namespace {

using nlohmann::json;
using Hasher = SipHasher128<1, 3>;

// Type tags: one byte before each value, so a string "1" and a number 1, or
// [] and {}, never feed the same bytes.
enum Tag : uint8_t {
  kNull = 'n', kFalse = 'f', kTrue = 't', kInt = 'i', kUint = 'u', kDouble = 'd', kString = 's',
  kArray = '[', kObject = '{', kObjectEnd = '}', kField = 'k',
  kScope = 'S', kMaxTokens = 'M', kModels = 'C',
};

static_assert(std::is_sorted(kCacheKeyExcludedFields.begin(), kCacheKeyExcludedFields.end()),
              "excluded() binary-searches the list");

bool excluded(std::string_view field) {
  return std::binary_search(kCacheKeyExcludedFields.begin(), kCacheKeyExcludedFields.end(), field);
}

void put_string(Hasher& h, std::string_view s) {
  h.update_u64(s.size());
  h.update(s);
}

void put_double(Hasher& h, double d) {
  // Integral values in int64 range are the integer (1.0 == 1; -0.0 == 0).
  // 2^63 is the first double past INT64_MAX, so the comparison is exact.
  if (std::isfinite(d) && d == std::trunc(d) && d >= -9223372036854775808.0 &&
      d < 9223372036854775808.0) {
    h.update_byte(kInt);
    h.update_u64(static_cast<uint64_t>(static_cast<int64_t>(d)));
    return;
  }
  uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  h.update_byte(kDouble);
  h.update_u64(bits);
}

void put_value(Hasher& h, const json& v);

// '{' then ('k' key value)* then '}': the markers keep the form injective
// without counting the fields first (which would mean testing each
// top-level name against the exclusions twice).
void put_object(Hasher& h, const json& obj, bool top_level) {
  const auto& items = obj.get_ref<const json::object_t&>();  // std::map: sorted keys
  h.update_byte(kObject);
  for (const auto& [k, val] : items) {
    if (top_level && excluded(k)) continue;
    h.update_byte(kField);
    put_string(h, k);
    put_value(h, val);
  }
  h.update_byte(kObjectEnd);
}

void put_value(Hasher& h, const json& v) {
  switch (v.type()) {
    case json::value_t::null:
    case json::value_t::discarded:
      h.update_byte(kNull);
      return;
    case json::value_t::boolean:
      h.update_byte(v.get<bool>() ? kTrue : kFalse);
      return;
    case json::value_t::number_integer:
      h.update_byte(kInt);
      h.update_u64(static_cast<uint64_t>(v.get<int64_t>()));
      return;
    case json::value_t::number_unsigned: {
      const uint64_t u = v.get<uint64_t>();
      h.update_byte(u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? kInt : kUint);
      h.update_u64(u);
      return;
    }
    case json::value_t::number_float:
      put_double(h, v.get<double>());
      return;
    case json::value_t::string:
      h.update_byte(kString);
      put_string(h, v.get_ref<const std::string&>());
      return;
    case json::value_t::array:
      h.update_byte(kArray);
      h.update_u64(v.size());
      for (const auto& e : v) put_value(h, e);
      return;
    case json::value_t::object:
      put_object(h, v, false);
      return;
    case json::value_t::binary:
      // Not produced by parsing JSON text; hash the bytes so it still counts.
      h.update_byte('b');
      h.update_u64(v.get_binary().size());
      h.update(v.get_binary().data(), v.get_binary().size());
      return;
  }
}

char hex_digit(unsigned v) { return static_cast<char>(v < 10 ? '0' + v : 'a' + (v - 10)); }

}  // namespace

CacheKey CacheKeyer::key(std::string_view scope, const json& body, int64_t max_tokens,
                         std::span<const std::string_view> models) const {
  Hasher h(secret_);
  h.update_byte(kScope);
  put_string(h, scope);
  if (body.is_object()) {
    put_object(h, body, true);
  } else {
    put_value(h, body);
  }
  h.update_byte(kMaxTokens);
  h.update_u64(static_cast<uint64_t>(max_tokens));
  h.update_byte(kModels);
  h.update_u64(models.size());
  for (std::string_view m : models) put_string(h, m);
  return h.finish();
}

std::string to_hex(const CacheKey& key) {
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[static_cast<std::size_t>(15 - i)] = hex_digit(static_cast<unsigned>(key.hi >> (4 * i)) & 15);
    out[static_cast<std::size_t>(31 - i)] = hex_digit(static_cast<unsigned>(key.lo >> (4 * i)) & 15);
  }
  return out;
}

bool cache_key_from_hex(std::string_view hex, CacheKey& out) {
  if (hex.size() != 32) return false;
  uint64_t parts[2] = {0, 0};
  for (std::size_t i = 0; i < 32; ++i) {
    const char c = hex[i];
    unsigned v;
    if (c >= '0' && c <= '9') {
      v = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v = static_cast<unsigned>(c - 'a' + 10);
    } else {
      return false;
    }
    parts[i / 16] = (parts[i / 16] << 4) | v;
  }
  out.hi = parts[0];
  out.lo = parts[1];
  return true;
}

CacheKeySecret random_cache_key_secret() {
  std::random_device rd;
  CacheKeySecret s;
  for (std::size_t i = 0; i < s.size(); i += 4) {
    const uint32_t r = rd();
    for (std::size_t j = 0; j < 4; ++j) s[i + j] = static_cast<uint8_t>(r >> (8 * j));
  }
  return s;
}

}  // namespace tollgate::engine
