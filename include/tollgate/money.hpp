// tollgate — money as an exact integer.
//
// All spend is counted in nano-dollars (1e-9 USD) in a signed 64-bit integer:
// exact under addition, enough for ±9.2 billion USD. Prices are held as
// micro-dollars per million tokens, which makes one token at that price cost
// exactly price/1000 nano-dollars; a request's cost is summed per component
// and rounded up once, so no request is ever under-charged and no floating
// point error accumulates in caps or reports.
#pragma once

#include <cstdint>
#include <compare>
#include <string>

namespace tollgate {

struct Money {
  int64_t nanos = 0;  // 1e-9 USD

  static constexpr Money from_nanos(int64_t n) { return Money{n}; }
  // From a decimal USD amount typed by a person (a cap, a max_usd). Rounds
  // to the nearest nano-dollar; use only at configuration boundaries.
  static Money from_usd(double usd);

  double usd() const { return static_cast<double>(nanos) / 1e9; }
  // "$0.004210" — six decimals, enough to show a single cheap request.
  std::string str() const;

  friend constexpr Money operator+(Money a, Money b) { return Money{a.nanos + b.nanos}; }
  friend constexpr Money operator-(Money a, Money b) { return Money{a.nanos - b.nanos}; }
  Money& operator+=(Money o) { nanos += o.nanos; return *this; }
  Money& operator-=(Money o) { nanos -= o.nanos; return *this; }
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
  friend constexpr auto operator<=>(Money, Money) = default;
};

// A price: micro-dollars (1e-6 USD) per million tokens. "$2.50 / M" is
// 2'500'000. Negative means unknown (the catalog had no figure).
struct Price {
  int64_t micros_per_mtok = -1;
  bool known() const { return micros_per_mtok >= 0; }
  static Price from_usd_per_mtok(double usd);
};

// Exact cost of token counts at three prices, rounded up to the nano-dollar.
// Unknown prices count as zero; callers check known() before trusting it.
Money cost_of(int64_t uncached_input, Price input, int64_t cached_input, Price cached,
              int64_t output, Price output_price);

}  // namespace tollgate
