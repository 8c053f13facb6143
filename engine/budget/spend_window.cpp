#include "engine/budget/spend_window.hpp"

#include <cstdio>

namespace tollgate::engine {
namespace {

// Howard Hinnant's days<->civil algorithms (public domain): proleptic
// Gregorian calendar, day 0 = 1970-01-01.
struct Civil {
  int64_t y;
  unsigned m, d;
};

Civil civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

int64_t month_start_ms(int64_t month_id) {
  const int64_t y = floor_div(month_id, 12);
  const auto m = static_cast<unsigned>(month_id - y * 12) + 1;
  return days_from_civil(y, m, 1) * kDayMs;
}

}  // namespace

std::string_view to_string(SpendWindow window) noexcept {
  switch (window) {
    case SpendWindow::hour: return "hour";
    case SpendWindow::day: return "day";
    case SpendWindow::month: return "month";
    case SpendWindow::rolling_24h: return "rolling_24h";
  }
  return "day";
}

std::optional<SpendWindow> spend_window_from(std::string_view name) noexcept {
  if (name == "hour") return SpendWindow::hour;
  if (name == "day") return SpendWindow::day;
  if (name == "month") return SpendWindow::month;
  if (name == "rolling_24h") return SpendWindow::rolling_24h;
  return std::nullopt;
}

int64_t window_id(SpendWindow window, int64_t time_ms) noexcept {
  switch (window) {
    case SpendWindow::hour:
    case SpendWindow::rolling_24h: return floor_div(time_ms, kHourMs);
    case SpendWindow::day: return floor_div(time_ms, kDayMs);
    case SpendWindow::month: {
      const Civil c = civil_from_days(floor_div(time_ms, kDayMs));
      return c.y * 12 + static_cast<int64_t>(c.m) - 1;
    }
  }
  return 0;
}

int64_t window_start_ms(SpendWindow window, int64_t id) noexcept {
  switch (window) {
    case SpendWindow::hour: return id * kHourMs;
    case SpendWindow::rolling_24h: return (id - 23) * kHourMs;
    case SpendWindow::day: return id * kDayMs;
    case SpendWindow::month: return month_start_ms(id);
  }
  return 0;
}

int64_t window_end_ms(SpendWindow window, int64_t id) noexcept {
  switch (window) {
    case SpendWindow::hour:
    case SpendWindow::rolling_24h: return (id + 1) * kHourMs;
    case SpendWindow::day: return (id + 1) * kDayMs;
    case SpendWindow::month: return month_start_ms(id + 1);
  }
  return 0;
}

std::string utc_minute(int64_t time_ms) {
  const int64_t days = floor_div(time_ms, kDayMs);
  const int64_t in_day = time_ms - days * kDayMs;
  const Civil c = civil_from_days(days);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lldZ", static_cast<long long>(c.y),
                c.m, c.d, static_cast<long long>(in_day / kHourMs),
                static_cast<long long>(in_day % kHourMs / 60000));
  return buf;
}

}  // namespace tollgate::engine
