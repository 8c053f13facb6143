// Cap windows and the UTC calendar behind them, at their edges: month
// windows across a year's end and through February in leap and common years,
// day windows at midnight UTC, hour and rolling windows, times before 1970,
// and the dates a user types that the calendar does not have.
#include <catch2/catch.hpp>

#include "engine/budget/spend_window.hpp"

using namespace tollgate::engine;

namespace {

// Unix ms of UTC times, from Python's datetime (an independent calendar).
constexpr int64_t kDec1_2026 = 1'796'083'200'000;
constexpr int64_t kJan1_2027 = 1'798'761'600'000;
constexpr int64_t kFeb1_2027 = 1'801'440'000'000;
constexpr int64_t kMar1_2027 = 1'803'859'200'000;
constexpr int64_t kFeb1_2028 = 1'832'976'000'000;
constexpr int64_t kFeb29_2028 = 1'835'395'200'000;
constexpr int64_t kMar1_2028 = 1'835'481'600'000;
constexpr int64_t kMay14_2026 = 1'778'716'800'000;
constexpr int64_t kMay13_2026_10h = 1'778'666'400'000;
constexpr int64_t kMay14_2026_09h = 1'778'749'200'000;
constexpr int64_t kMay14_2026_10h = 1'778'752'800'000;
constexpr int64_t kDec1_1969 = -2'678'400'000;
constexpr int64_t kFeb1_1900 = -2'206'310'400'000;
constexpr int64_t kMar1_1900 = -2'203'891'200'000;
constexpr int64_t kFeb1_2000 = 949'363'200'000;
constexpr int64_t kMar1_2000 = 951'868'800'000;

// The window holding `t`: [start, end).
struct Span {
  int64_t start, end;
  bool operator==(const Span&) const = default;
};
Span window_of(SpendWindow w, int64_t t) {
  const int64_t id = window_id(w, t);
  return {window_start_ms(w, id), window_end_ms(w, id)};
}

}  // namespace

TEST_CASE("month windows cross a year's end", "[window]") {
  CHECK(window_of(SpendWindow::month, kJan1_2027 - 1) == Span{kDec1_2026, kJan1_2027});
  CHECK(window_of(SpendWindow::month, kJan1_2027) == Span{kJan1_2027, kFeb1_2027});
  CHECK(window_id(SpendWindow::month, kJan1_2027) == window_id(SpendWindow::month, kJan1_2027 - 1) + 1);
  // Ids count months from January of year 0.
  CHECK(window_id(SpendWindow::month, kJan1_2027) == 2027 * 12);
  CHECK(window_id(SpendWindow::month, kDec1_2026) == 2026 * 12 + 11);
  CHECK(utc_minute(kJan1_2027 - 1) == "2026-12-31T23:59Z");
}

TEST_CASE("February's month window has 29 days in a leap year, 28 otherwise", "[window]") {
  CHECK(window_of(SpendWindow::month, kFeb29_2028) == Span{kFeb1_2028, kMar1_2028});
  CHECK(window_of(SpendWindow::month, kMar1_2028 - 1) == Span{kFeb1_2028, kMar1_2028});
  CHECK(kMar1_2028 - kFeb1_2028 == 29 * kDayMs);
  CHECK(window_of(SpendWindow::month, kFeb1_2027 + 27 * kDayMs) == Span{kFeb1_2027, kMar1_2027});
  CHECK(kMar1_2027 - kFeb1_2027 == 28 * kDayMs);
  // Centuries: 1900 is not a leap year, 2000 is.
  CHECK(window_of(SpendWindow::month, kFeb1_1900) == Span{kFeb1_1900, kMar1_1900});
  CHECK(kMar1_1900 - kFeb1_1900 == 28 * kDayMs);
  CHECK(window_of(SpendWindow::month, kFeb1_2000) == Span{kFeb1_2000, kMar1_2000});
  CHECK(kMar1_2000 - kFeb1_2000 == 29 * kDayMs);
  CHECK(utc_minute(kFeb29_2028) == "2028-02-29T00:00Z");
}

TEST_CASE("day windows turn at midnight UTC, hour windows on the hour", "[window]") {
  CHECK(window_of(SpendWindow::day, kMay14_2026) == Span{kMay14_2026, kMay14_2026 + kDayMs});
  CHECK(window_of(SpendWindow::day, kMay14_2026 - 1) == Span{kMay14_2026 - kDayMs, kMay14_2026});
  CHECK(window_of(SpendWindow::day, kMay14_2026 + kDayMs - 1) == Span{kMay14_2026, kMay14_2026 + kDayMs});
  CHECK(window_id(SpendWindow::day, kMay14_2026) == kMay14_2026 / kDayMs);
  CHECK(window_of(SpendWindow::day, kFeb29_2028 + kDayMs - 1) == Span{kFeb29_2028, kMar1_2028});

  CHECK(window_of(SpendWindow::hour, kMay14_2026_09h) == Span{kMay14_2026_09h, kMay14_2026_10h});
  CHECK(window_of(SpendWindow::hour, kMay14_2026_10h - 1) == Span{kMay14_2026_09h, kMay14_2026_10h});
  CHECK(window_of(SpendWindow::hour, kMay14_2026_10h) == Span{kMay14_2026_10h, kMay14_2026_10h + kHourMs});
}

TEST_CASE("a rolling window is the 24 whole hours ending with the current one", "[window]") {
  const int64_t half_past_nine = kMay14_2026_09h + 30 * 60'000;
  CHECK(window_id(SpendWindow::rolling_24h, half_past_nine) == window_id(SpendWindow::hour, half_past_nine));
  CHECK(window_of(SpendWindow::rolling_24h, half_past_nine) == Span{kMay13_2026_10h, kMay14_2026_10h});
  CHECK(window_of(SpendWindow::rolling_24h, kMay14_2026_10h) ==
        Span{kMay13_2026_10h + kHourMs, kMay14_2026_10h + kHourMs});
  CHECK(utc_minute(window_start_ms(SpendWindow::rolling_24h, window_id(SpendWindow::rolling_24h, half_past_nine))) ==
        "2026-05-13T10:00Z");
}

TEST_CASE("windows before 1970 floor, at the epoch they start", "[window]") {
  CHECK(window_of(SpendWindow::hour, -1) == Span{-kHourMs, 0});
  CHECK(window_of(SpendWindow::day, -1) == Span{-kDayMs, 0});
  CHECK(window_of(SpendWindow::rolling_24h, -1) == Span{-24 * kHourMs, 0});
  CHECK(window_of(SpendWindow::month, -1) == Span{kDec1_1969, 0});
  CHECK(window_of(SpendWindow::month, 0) == Span{0, 31 * kDayMs});
  CHECK(window_of(SpendWindow::day, 0) == Span{0, kDayMs});
  CHECK(window_id(SpendWindow::month, 0) == 1970 * 12);
  CHECK(window_id(SpendWindow::day, -1) == -1);
  CHECK(window_id(SpendWindow::hour, -kHourMs) == -1);
  CHECK(window_id(SpendWindow::hour, -kHourMs - 1) == -2);
}

TEST_CASE("the calendar's last month still ends, its range is known", "[window]") {
  // 32767-12-01 and the day after 32767-12-31, from Python's datetime shifted
  // by 400-year cycles of 146097 days.
  constexpr int64_t kDec1_32767 = 971'888'284'800'000;
  constexpr int64_t kAfterLast = 971'890'963'200'000;
  constexpr int64_t kFirst = -1'096'193'779'200'000;  // -32767-01-01
  CHECK(window_of(SpendWindow::month, kAfterLast - 1) == Span{kDec1_32767, kAfterLast});
  CHECK(on_calendar(kFirst));
  CHECK_FALSE(on_calendar(kFirst - 1));
  CHECK(on_calendar(kAfterLast - 1));
  CHECK_FALSE(on_calendar(kAfterLast));
  CHECK(on_calendar(0));
}

TEST_CASE("UTC times print to the minute and to the millisecond", "[window]") {
  CHECK(utc_minute(1'778'749'923'250) == "2026-05-14T09:12Z");
  CHECK(utc_millisecond(1'778'749'923'250) == "2026-05-14T09:12:03.250Z");
  CHECK(utc_millisecond(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(utc_minute(-1) == "1969-12-31T23:59Z");
  CHECK(utc_millisecond(0) == "1970-01-01T00:00:00.000Z");
  CHECK(utc_minute(-62'135'596'800'000) == "0001-01-01T00:00Z");
}

TEST_CASE("a typed date is midnight UTC of a day the calendar has, or none", "[window]") {
  CHECK(utc_midnight_ms(2026, 5, 14) == kMay14_2026);
  CHECK(utc_midnight_ms(2028, 2, 29) == kFeb29_2028);
  CHECK(utc_midnight_ms(2027, 1, 1) == kJan1_2027);
  CHECK(utc_midnight_ms(1969, 12, 1) == kDec1_1969);
  CHECK(utc_midnight_ms(1970, 1, 1) == 0);
  CHECK_FALSE(utc_midnight_ms(2026, 2, 31).has_value());  // once March 3rd
  CHECK_FALSE(utc_midnight_ms(2027, 2, 29).has_value());
  CHECK_FALSE(utc_midnight_ms(1900, 2, 29).has_value());
  CHECK_FALSE(utc_midnight_ms(2026, 4, 31).has_value());
  CHECK_FALSE(utc_midnight_ms(2026, 13, 1).has_value());
  CHECK_FALSE(utc_midnight_ms(2026, 0, 1).has_value());
  CHECK_FALSE(utc_midnight_ms(2026, 1, 0).has_value());
  CHECK_FALSE(utc_midnight_ms(2026, 1, 287).has_value());  // not day 31 by narrowing to a byte
  CHECK_FALSE(utc_midnight_ms(2026, 257, 1).has_value());
  CHECK_FALSE(utc_midnight_ms(40'000, 1, 1).has_value());
}
