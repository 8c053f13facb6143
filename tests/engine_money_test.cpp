#include <catch2/catch.hpp>

#include "tollgate/money.hpp"

using tollgate::cost_of;
using tollgate::Money;
using tollgate::Price;

TEST_CASE("prices convert to exact micro-dollars per million tokens", "[money]") {
  CHECK(Price::from_usd_per_mtok(2.5).micros_per_mtok == 2'500'000);
  CHECK(Price::from_usd_per_mtok(0.075).micros_per_mtok == 75'000);
  CHECK(Price::from_usd_per_mtok(0.01875).micros_per_mtok == 18'750);
  CHECK(Price::from_usd_per_mtok(0).known());
  CHECK_FALSE(Price::from_usd_per_mtok(-1).known());
  CHECK_FALSE(Price{}.known());
}

TEST_CASE("cost is exact, summed per component and rounded up once", "[money]") {
  const Price in = Price::from_usd_per_mtok(2.5), cached = Price::from_usd_per_mtok(1.25),
              out = Price::from_usd_per_mtok(10);
  // 1,000 input at $2.50/M = $0.0025; 500 output at $10/M = $0.005.
  CHECK(cost_of(1000, in, 0, cached, 500, out).nanos == 7'500'000);
  // Cached tokens at the cached price, never twice.
  CHECK(cost_of(600, in, 400, cached, 0, out).nanos == 1'500'000 + 500'000);
  // One token at $0.01/M is exactly 10 nano-dollars; at $0.0005/M it is half
  // a nano-dollar, which rounds up to 1, never down to 0.
  CHECK(cost_of(1, Price::from_usd_per_mtok(0.01), 0, Price{}, 0, Price{}).nanos == 10);
  CHECK(cost_of(1, Price::from_usd_per_mtok(0.0005), 0, Price{}, 0, Price{}).nanos == 1);
  // Unknown prices contribute nothing (callers check known() first).
  CHECK(cost_of(1000, Price{}, 0, Price{}, 0, Price{}).nanos == 0);
}

TEST_CASE("adding a million small costs drifts by nothing", "[money]") {
  const Price p = Price::from_usd_per_mtok(0.15);
  Money total;
  for (int i = 0; i < 1'000'000; ++i) total += cost_of(1000, p, 0, Price{}, 0, Price{});
  CHECK(total.nanos == 150'000'000'000);  // exactly $150
  CHECK(total.str() == "$150.000000");
}

TEST_CASE("money prints with six decimals", "[money]") {
  CHECK(Money::from_nanos(4'210'000).str() == "$0.004210");
  CHECK(Money::from_nanos(-1'500'000'000).str() == "-$1.500000");
  CHECK(Money::from_usd(12.34).nanos == 12'340'000'000);
}
