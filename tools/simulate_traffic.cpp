#include "tools/simulate_traffic.hpp"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "engine/budget/spend_window.hpp"

namespace tollgate::tools {

std::optional<int64_t> parse_utc_time(std::string_view text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, consumed = 0;
  const std::string t(text.substr(0, 40));
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &consumed) != 6) return std::nullopt;
  if (h > 23 || mi > 59 || s > 60) return std::nullopt;
  std::string_view rest = std::string_view(t).substr(static_cast<std::size_t>(consumed));
  int64_t ms = 0;
  if (!rest.empty() && rest.front() == '.') {
    rest.remove_prefix(1);
    int digits = 0;
    while (!rest.empty() && rest.front() >= '0' && rest.front() <= '9') {
      if (digits < 3) ms = ms * 10 + (rest.front() - '0');
      ++digits;
      rest.remove_prefix(1);
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 3; ++digits) ms *= 10;
  }
  if (rest != "Z" && rest != "+00:00") return std::nullopt;  // UTC only: a log's zone is ambiguous otherwise
  // None for a day the calendar lacks (2026-02-31), which timegm rolled into March.
  const auto midnight = engine::utc_midnight_ms(y, mo, d);
  if (!midnight) return std::nullopt;
  return *midnight + ((int64_t{h} * 60 + mi) * 60 + s) * 1000 + ms;  // second 60 is the next minute's 0
}

Result<TrafficLine> parse_traffic_line(std::string_view text, const std::string& where) {
  auto bad = [&](const std::string& m) { return Error(ErrorCategory::bad_request, where + ": " + m); };
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  TrafficLine line;
  Request& r = line.request;
  auto whole = [&](const char* key, std::optional<int64_t>& out) -> bool {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return true;
    if (!it->is_number_integer() || it->get<int64_t>() < 0) return false;
    out = it->get<int64_t>();
    return true;
  };

  const auto team = j.find("team");
  if (team == j.end() || !team->is_string() || team->get_ref<const std::string&>().empty())
    return bad("\"team\" is required (a string)");
  r.team = team->get<std::string>();
  if (auto u = j.find("user"); u != j.end()) {
    if (!u->is_string()) return bad("\"user\" must be a string");
    r.user = u->get<std::string>();
  }
  if (auto t = j.find("tags"); t != j.end()) {
    if (!t->is_object()) return bad("\"tags\" must be an object of strings");
    for (const auto& [k, v] : t->items()) r.tags[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  std::optional<int64_t> input, output, max_tokens;
  if (!whole("input_tokens", input)) return bad("\"input_tokens\" must be a whole number, 0 or more");
  if (!whole("output_tokens", output)) return bad("\"output_tokens\" must be a whole number, 0 or more");
  if (!whole("max_tokens", max_tokens)) return bad("\"max_tokens\" must be a whole number, 0 or more");
  if (auto m = j.find("messages"); m != j.end()) {
    if (!m->is_array()) return bad("\"messages\" must be an array");
    r.body["messages"] = *m;
  } else if (!input) {
    return bad("give \"input_tokens\" or \"messages\"");
  }
  r.input_tokens = input;
  if (max_tokens) r.max_tokens = max_tokens;
  if (output) {
    line.output_tokens = *output;
  } else {
    line.output_tokens = max_tokens ? *max_tokens : kDefaultOutputTokens;
    line.output_assumed = true;
  }

  if (auto ts = j.find("ts"); ts != j.end() && !ts->is_null()) {
    if (ts->is_number_integer()) {
      line.ts_ms = ts->get<int64_t>();
      // Cap windows need a calendar date; microseconds would be year 58000.
      if (!engine::on_calendar(*line.ts_ms))
        return bad("\"ts\": " + ts->dump() + " unix milliseconds is outside the calendar's years -32767 to 32767");
    } else if (ts->is_string()) {
      line.ts_ms = parse_utc_time(ts->get_ref<const std::string&>());
      if (!line.ts_ms)
        return bad("\"ts\": " + ts->dump() + " is not a UTC time on the calendar, like 2026-05-14T09:12:03Z");
    } else {
      return bad("\"ts\" must be a UTC time string or unix milliseconds");
    }
  }
  return line;
}

}  // namespace tollgate::tools
