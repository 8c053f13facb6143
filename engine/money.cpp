#include "tollgate/money.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace tollgate {

Money Money::from_usd(double usd) { return Money{std::llround(usd * 1e9)}; }

std::string Money::str() const {
  // Integer formatting: no binary-fraction surprises in printed bills.
  const int64_t abs = nanos < 0 ? -nanos : nanos;
  const int64_t micros = (abs + 500) / 1000;  // round half up to micro-dollars
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s$%lld.%06lld", nanos < 0 ? "-" : "",
                static_cast<long long>(micros / 1'000'000),
                static_cast<long long>(micros % 1'000'000));
  return buf;
}

Price Price::from_usd_per_mtok(double usd) {
  if (!(usd >= 0) || !std::isfinite(usd)) return Price{};
  return Price{std::llround(usd * 1e6)};
}

Money cost_of(int64_t uncached_input, Price input, int64_t cached_input, Price cached,
              int64_t output, Price output_price) {
  // tokens x micro-dollars-per-million = pico-dollars, exactly. Sum, then
  // round up once to nano-dollars.
  auto pico = [](int64_t tokens, Price p) -> int64_t {
    return (tokens > 0 && p.known()) ? tokens * p.micros_per_mtok : 0;
  };
  const int64_t total = pico(uncached_input, input) + pico(cached_input, cached) +
                        pico(output, output_price);
  return Money{(total + 999) / 1000};
}

}  // namespace tollgate
