// SipHash-c-d with a 128-bit tag, fed incrementally (Aumasson & Bernstein,
// reference: github.com/veorq/SipHash). The cache key uses SipHash-1-3: a
// keyed PRF, so without the secret key nobody can craft two requests that
// collide (a plain fast hash such as MurmurHash3 has seed-independent
// multicollisions, which would let one team poison a `shared` cache entry).
//
// A SipHasher is a plain value owned by one thread at a time.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace tollgate::engine {

struct Hash128 {
  uint64_t lo = 0, hi = 0;
  friend constexpr bool operator==(const Hash128&, const Hash128&) = default;
};

template <int C, int D>
class SipHasher128 {
 public:
  explicit SipHasher128(const std::array<uint8_t, 16>& key) {
    const uint64_t k0 = load64(key.data()), k1 = load64(key.data() + 8);
    v0_ = 0x736f6d6570736575ULL ^ k0;
    v1_ = 0x646f72616e646f6dULL ^ k1 ^ 0xee;  // 0xee: the 128-bit variant
    v2_ = 0x6c7967656e657261ULL ^ k0;
    v3_ = 0x7465646279746573ULL ^ k1;
  }

  void update(const void* data, std::size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    total_ += n;
    if (fill_ + n < kBuf) {  // the common case: a short piece, no block completes
      if (n <= 16) {  // keys, roles: cheaper than a call to memcpy
        for (std::size_t i = 0; i < n; ++i) buf_[fill_ + i] = p[i];
      } else {
        std::memcpy(buf_ + fill_, p, n);
      }
      fill_ += n;
      return;
    }
    const std::size_t take = kBuf - fill_;
    std::memcpy(buf_ + fill_, p, take);
    compress_blocks(buf_, kBuf);
    p += take;
    n -= take;
    const std::size_t whole = n & ~(kBuf - 1);
    compress_blocks(p, whole);
    std::memcpy(buf_, p + whole, n - whole);
    fill_ = n - whole;
  }
  void update(std::string_view s) { update(s.data(), s.size()); }
  void update_u64(uint64_t v) {
    // Little-endian bytes of v. Copied from the integer itself: building them
    // in a byte array and copying that would stall on store forwarding.
    if constexpr (std::endian::native != std::endian::little) v = byteswap64(v);
    total_ += 8;
    if (fill_ + 8 < kBuf) {
      std::memcpy(buf_ + fill_, &v, 8);
      fill_ += 8;
      return;
    }
    uint8_t b[8];
    std::memcpy(b, &v, 8);
    const std::size_t take = kBuf - fill_;  // 1..8
    for (std::size_t i = 0; i < take; ++i) buf_[fill_ + i] = b[i];
    compress_blocks(buf_, kBuf);
    for (std::size_t i = take; i < 8; ++i) buf_[i - take] = b[i];
    fill_ = 8 - take;
  }
  void update_byte(uint8_t b) {
    buf_[fill_++] = b;
    ++total_;
    if (fill_ == kBuf) {
      compress_blocks(buf_, kBuf);
      fill_ = 0;
    }
  }

  // Finishes the tag. Call once.
  Hash128 finish() {
    // fill_ < kBuf always; saying so lets the compiler see reads stay in buf_.
    const std::size_t fill = fill_ < kBuf ? fill_ : kBuf - 1;
    const std::size_t whole = fill & ~std::size_t{7};
    compress_blocks(buf_, whole);
    uint64_t b = static_cast<uint64_t>(total_) << 56;
    for (std::size_t i = whole; i < fill; ++i) b |= static_cast<uint64_t>(buf_[i]) << (8 * (i - whole));
    v3_ ^= b;
    for (int i = 0; i < C; ++i) round();
    v0_ ^= b;
    v2_ ^= 0xee;
    for (int i = 0; i < D; ++i) round();
    Hash128 out;
    out.lo = v0_ ^ v1_ ^ v2_ ^ v3_;
    v1_ ^= 0xdd;
    for (int i = 0; i < D; ++i) round();
    out.hi = v0_ ^ v1_ ^ v2_ ^ v3_;
    return out;
  }

 private:
  static constexpr std::size_t kBuf = 64;  // a multiple of the 8-byte word

  static uint64_t load64(const uint8_t* p) {
    if constexpr (std::endian::native == std::endian::little) {
      uint64_t v;
      std::memcpy(&v, p, 8);
      return v;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
    return v;
  }
  static constexpr uint64_t byteswap64(uint64_t x) {
    uint64_t r = 0;
    for (int i = 0; i < 8; ++i) r |= ((x >> (8 * i)) & 0xff) << (56 - 8 * i);
    return r;
  }
  static constexpr uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }
  // n is a multiple of 8. The state is copied to locals: buf_ and the input
  // are bytes, which may alias anything, so member state would be stored
  // and reloaded around every load.
  void compress_blocks(const uint8_t* p, std::size_t n) {
    uint64_t v0 = v0_, v1 = v1_, v2 = v2_, v3 = v3_;
    for (std::size_t off = 0; off < n; off += 8) {
      const uint64_t m = load64(p + off);
      v3 ^= m;
      for (int i = 0; i < C; ++i) round(v0, v1, v2, v3);
      v0 ^= m;
    }
    v0_ = v0; v1_ = v1; v2_ = v2; v3_ = v3;
  }
  static void round(uint64_t& v0, uint64_t& v1, uint64_t& v2, uint64_t& v3) {
    v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
    v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;
    v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;
    v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
  }
  void round() { round(v0_, v1_, v2_, v3_); }

  uint64_t v0_, v1_, v2_, v3_;
  uint8_t buf_[kBuf];
  std::size_t fill_ = 0;
  std::size_t total_ = 0;
};

}  // namespace tollgate::engine
