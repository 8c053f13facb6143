#include "engine/budget/spend_window.hpp"

#include <chrono>
#include <cstdio>

namespace tollgate::engine {
namespace {

namespace chr = std::chrono;
using UnixMs = chr::sys_time<chr::milliseconds>;

// Month ids count months from January of year 0, so consecutive months have
// consecutive ids.
constexpr chr::year_month kMonthZero = chr::year{0} / chr::January;

UnixMs at(int64_t time_ms) { return UnixMs{chr::milliseconds{time_ms}}; }
int64_t ms_of(UnixMs t) { return t.time_since_epoch().count(); }

chr::year_month month_of(int64_t month_id) { return kMonthZero + chr::months{month_id}; }

// "2026-05-14T09:12", then "Z" or, with `seconds`, ":03.250Z".
std::string utc_text(int64_t time_ms, bool seconds) {
  const UnixMs t = at(time_ms);
  const chr::sys_days day = chr::floor<chr::days>(t);
  const chr::year_month_day date{day};
  const chr::hh_mm_ss time{t - day};
  char buf[64];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d", static_cast<int>(date.year()),
                              static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                              static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()));
  if (seconds) {
    std::snprintf(buf + n, sizeof buf - static_cast<size_t>(n), ":%02d.%03dZ",
                  static_cast<int>(time.seconds().count()), static_cast<int>(time.subseconds().count()));
  } else {
    std::snprintf(buf + n, sizeof buf - static_cast<size_t>(n), "Z");
  }
  return buf;
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

bool on_calendar(int64_t time_ms) noexcept {
  // Whole milliseconds of the calendar's first and last days: about ±1.03e15.
  constexpr chr::sys_days first{chr::year::min() / chr::January / 1};
  constexpr chr::sys_days after_last{chr::sys_days{chr::year::max() / chr::December / 31} + chr::days{1}};
  return time_ms >= ms_of(first) && time_ms < ms_of(after_last);
}

int64_t window_id(SpendWindow window, int64_t time_ms) noexcept {
  const UnixMs t = at(time_ms);
  switch (window) {
    case SpendWindow::hour:
    case SpendWindow::rolling_24h: return chr::floor<chr::hours>(t).time_since_epoch().count();
    case SpendWindow::day: return chr::floor<chr::days>(t).time_since_epoch().count();
    case SpendWindow::month: {
      const chr::year_month_day date{chr::floor<chr::days>(t)};
      return (date.year() / date.month() - kMonthZero).count();
    }
  }
  return 0;
}

int64_t window_start_ms(SpendWindow window, int64_t id) noexcept {
  switch (window) {
    case SpendWindow::hour: return id * kHourMs;
    case SpendWindow::rolling_24h: return (id - 23) * kHourMs;
    case SpendWindow::day: return id * kDayMs;
    case SpendWindow::month: return ms_of(chr::sys_days{month_of(id) / chr::day{1}});
  }
  return 0;
}

int64_t window_end_ms(SpendWindow window, int64_t id) noexcept {
  switch (window) {
    case SpendWindow::hour:
    case SpendWindow::rolling_24h: return (id + 1) * kHourMs;
    case SpendWindow::day: return (id + 1) * kDayMs;
    // The day after the month's last, not the next month's first: December
    // 32767 ends too, though the calendar has no year 32768.
    case SpendWindow::month: return ms_of(chr::sys_days{month_of(id) / chr::last} + chr::days{1});
  }
  return 0;
}

std::string utc_minute(int64_t time_ms) { return utc_text(time_ms, false); }
std::string utc_millisecond(int64_t time_ms) { return utc_text(time_ms, true); }

std::optional<int64_t> utc_midnight_ms(int year, int month, int day) noexcept {
  // year, month and day keep their values in a short and unsigned chars:
  // range-check before narrowing, so that day 287 is not day 31.
  if (year < static_cast<int>(chr::year::min()) || year > static_cast<int>(chr::year::max()) || month < 1 ||
      month > 12 || day < 1 || day > 31)
    return std::nullopt;
  const chr::year_month_day date{chr::year{year}, chr::month{static_cast<unsigned>(month)},
                                 chr::day{static_cast<unsigned>(day)}};
  if (!date.ok()) return std::nullopt;  // refuses 2026-02-31 rather than roll it into March
  return ms_of(chr::sys_days{date});
}

}  // namespace tollgate::engine
