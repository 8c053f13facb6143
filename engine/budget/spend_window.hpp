// Spend-cap windows and the UTC calendar arithmetic behind them.
//
// Calendar windows (hour, day, month) start at UTC boundaries; a rolling
// window is the last 24 whole UTC hours including the current one. Every
// window is a union of UTC hours, which is what lets the rebuild at start
// read spend summed per hour.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tollgate::engine {

enum class SpendWindow : uint8_t { hour, day, month, rolling_24h };

// "hour", "day", "month", "rolling_24h": the names the DSL's caps use.
std::string_view to_string(SpendWindow window) noexcept;
std::optional<SpendWindow> spend_window_from(std::string_view name) noexcept;

inline constexpr int64_t kHourMs = 3'600'000;
inline constexpr int64_t kDayMs = 24 * kHourMs;

// Times below are unix ms within the years std::chrono's calendar holds,
// -32767 to 32767 (on_calendar): the gateway's clock always is, and simulate
// refuses traffic that is not.
bool on_calendar(int64_t time_ms) noexcept;

// The id of the calendar window holding `time_ms`: consecutive windows have
// consecutive ids. For rolling_24h, the id of the current hour.
int64_t window_id(SpendWindow window, int64_t time_ms) noexcept;
// Where the window with that id starts and ends (exclusive), unix ms. For
// rolling_24h, the 24 hours ending with hour `id`.
int64_t window_start_ms(SpendWindow window, int64_t id) noexcept;
int64_t window_end_ms(SpendWindow window, int64_t id) noexcept;

// "2026-05-14T00:00Z": a unix time in ms as a UTC minute, for messages.
std::string utc_minute(int64_t time_ms);
// "2026-05-14T09:12:03.250Z": the same to the millisecond, for logs.
std::string utc_millisecond(int64_t time_ms);

// Unix ms at 00:00 UTC of a calendar date given as numbers (a date someone
// typed); none when the calendar has no such day: 2026-02-31, 2027-02-29,
// month 13.
std::optional<int64_t> utc_midnight_ms(int year, int month, int day) noexcept;

}  // namespace tollgate::engine
