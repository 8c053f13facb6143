#include "engine/ledger/report.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <ostream>
#include <unordered_set>

#include "adapters/json/json_write.hpp"
#include "engine/ledger/ledger_sqlite.hpp"
#include "engine/signals/quality_histogram.hpp"
#include "engine/budget/spend_window.hpp"
#include "engine/wall_clock.hpp"

namespace tollgate::engine {
namespace {

// Columns of the query below, by position.
enum Col { kTeam, kUser, kRoute, kProvider, kModel, kTs, kStatus, kIn, kCached, kOut, kCost,
           kSaved, kLatency, kRequest, kScore };

// The score of an attempt is the mean of the scores recorded against it; a
// correlated look-up uses the quality_by_request index. The time range uses
// attempts_by_time.
constexpr std::string_view kQuery = R"sql(
SELECT a.team, a.user, a.route, a.provider, a.model, a.ts_ms, a.status, a.input_tokens,
       a.cached_input_tokens, a.output_tokens, a.cost_nanos, a.saved_nanos, a.latency_ms,
       a.request_id,
       (SELECT avg(q.score) FROM quality q WHERE q.request_id = a.request_id
                                             AND q.attempt = a.attempt)
FROM attempts a WHERE a.ts_ms >= ?1
)sql";

struct Group {
  ReportRow row;
  std::unordered_set<std::string> requests;
  LatencyHistogram latency;
  void add(const sql::Stmt& s, double accept) {
    requests.emplace(s.text_at(kRequest));
    ++row.attempts;
    const std::string_view status = s.text_at(kStatus);
    if (status == "error") ++row.errors;
    if (status == "cache_hit") ++row.cache_hits;
    if (status == "ok" && !s.is_null(kLatency)) latency.add(s.int_at(kLatency));
    row.input_tokens += s.int_at(kIn);
    row.cached_input_tokens += s.int_at(kCached);
    row.output_tokens += s.int_at(kOut);
    row.spend += Money::from_nanos(s.int_at(kCost));
    row.saved += Money::from_nanos(s.int_at(kSaved));
    if (!s.is_null(kScore)) {
      ++row.scored;
      if (s.double_at(kScore) >= accept) ++row.accepted;
    }
  }
  ReportRow finish() {
    row.requests = static_cast<int64_t>(requests.size());
    row.p50_ms = latency.percentile(0.50);
    row.p95_ms = latency.percentile(0.95);
    return std::move(row);
  }
};

const std::vector<std::string>& dimensions() {
  static const std::vector<std::string> dims = {"team", "user", "route", "provider", "model", "day"};
  return dims;
}

std::string key_of(const sql::Stmt& s, const std::string& dim) {
  if (dim == "team") return std::string(s.text_at(kTeam));
  if (dim == "user") return std::string(s.text_at(kUser));
  if (dim == "route") return std::string(s.text_at(kRoute));
  if (dim == "provider") return std::string(s.text_at(kProvider));
  if (dim == "model") return std::string(s.text_at(kModel));
  return utc_minute(s.int_at(kTs)).substr(0, 10);  // "day": 2026-05-14
}

// "1234567" nanos -> "0.001235" USD, the figure CSV and JSON carry.
std::string usd_plain(Money m) { return m.str().erase(m.nanos < 0 ? 1 : 0, 1); }

std::string cost_per_accepted(const ReportRow& r) {
  if (r.accepted == 0) return "";
  return Money::from_nanos(r.spend.nanos / r.accepted).str();
}

std::string percent(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", x * 100);
  return buf;
}

std::string ms(int64_t v) { return v < 0 ? "" : std::to_string(v); }

std::vector<std::string> header(const Report& r) {
  std::vector<std::string> h = r.group_by;
  for (const char* c : {"requests", "attempts", "input_tokens", "cached_tokens", "output_tokens",
                        "spend", "cache_saved", "cache_hits", "hit_rate", "error_rate", "p50_ms", "p95_ms", "scored",
                        "accepted", "cost_per_accepted"})
    h.emplace_back(c);
  return h;
}

std::vector<std::string> cells(const ReportRow& r, size_t n_keys, bool plain) {
  std::vector<std::string> c = r.keys;
  if (c.empty()) {
    c.assign(n_keys, "");
    if (n_keys > 0) c[0] = "TOTAL";
  }
  auto money = [&](Money m) { return plain ? usd_plain(m) : m.str(); };
  c.push_back(std::to_string(r.requests));
  c.push_back(std::to_string(r.attempts));
  c.push_back(std::to_string(r.input_tokens));
  c.push_back(std::to_string(r.cached_input_tokens));
  c.push_back(std::to_string(r.output_tokens));
  c.push_back(money(r.spend));
  c.push_back(money(r.saved));
  c.push_back(std::to_string(r.cache_hits));
  c.push_back(plain ? std::to_string(r.hit_rate()) : percent(r.hit_rate()));
  c.push_back(plain ? std::to_string(r.error_rate()) : percent(r.error_rate()));
  c.push_back(ms(r.p50_ms));
  c.push_back(ms(r.p95_ms));
  c.push_back(std::to_string(r.scored));
  c.push_back(std::to_string(r.accepted));
  const std::string cpa = cost_per_accepted(r);
  c.push_back(plain && !cpa.empty() ? cpa.substr(1) : cpa);
  return c;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char ch : s) {
    if (ch == '"') q += '"';
    q += ch;
  }
  return q + "\"";
}

void print_table(const Report& r, std::ostream& out) {
  std::vector<std::vector<std::string>> lines;
  lines.push_back(header(r));
  for (const ReportRow& row : r.rows) lines.push_back(cells(row, r.group_by.size(), false));
  lines.push_back(cells(r.total, r.group_by.size(), false));
  std::vector<size_t> width(lines[0].size(), 0);
  for (const auto& l : lines)
    for (size_t i = 0; i < l.size(); ++i) width[i] = std::max(width[i], l[i].size());
  const size_t n_keys = r.group_by.size();
  auto print = [&](const std::vector<std::string>& l) {
    for (size_t i = 0; i < l.size(); ++i) {
      if (i) out << "  ";
      const size_t pad = width[i] - l[i].size();
      if (i < n_keys) {
        out << l[i] << (i + 1 < l.size() ? std::string(pad, ' ') : "");
      } else {
        out << std::string(pad, ' ') << l[i];  // figures right-aligned
      }
    }
    out << '\n';
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i + 1 == lines.size()) {  // a rule above the total
      size_t total_width = 0;
      for (size_t w : width) total_width += w + 2;
      out << std::string(total_width - 2, '-') << '\n';
    }
    print(lines[i]);
  }
}

void print_csv(const Report& r, std::ostream& out) {
  auto print = [&](const std::vector<std::string>& l) {
    for (size_t i = 0; i < l.size(); ++i) out << (i ? "," : "") << csv_field(l[i]);
    out << '\n';
  };
  print(header(r));
  for (const ReportRow& row : r.rows) print(cells(row, r.group_by.size(), true));
  print(cells(r.total, r.group_by.size(), true));
}

void print_json(const Report& r, std::ostream& out) {
  // Names are written by the one JSON writer, as the gateway writes them:
  // control characters escaped, and bytes that are not UTF-8 (a ledger
  // keeps whatever a header carried) as U+FFFD, so the output is JSON.
  std::string quoted;
  adapters::JsonWriter writer(quoted, adapters::InvalidUtf8::replace);
  auto put_string = [&](const std::string& s) {
    quoted.clear();
    writer.string(s);
    out << quoted;
  };
  auto object = [&](const ReportRow& row) {
    out << "{";
    for (size_t i = 0; i < row.keys.size(); ++i) {
      put_string(r.group_by[i]);
      out << ":";
      put_string(row.keys[i]);
      out << ",";
    }
    out << "\"requests\":" << row.requests << ",\"attempts\":" << row.attempts
        << ",\"input_tokens\":" << row.input_tokens
        << ",\"cached_tokens\":" << row.cached_input_tokens
        << ",\"output_tokens\":" << row.output_tokens << ",\"spend_usd\":" << usd_plain(row.spend)
        << ",\"spend_nanos\":" << row.spend.nanos << ",\"cache_saved_usd\":" << usd_plain(row.saved)
        << ",\"cache_hits\":" << row.cache_hits << ",\"hit_rate\":" << row.hit_rate()
        << ",\"error_rate\":" << row.error_rate() << ",\"p50_ms\":";
    if (row.p50_ms < 0) out << "null"; else out << row.p50_ms;
    out << ",\"p95_ms\":";
    if (row.p95_ms < 0) out << "null"; else out << row.p95_ms;
    out << ",\"scored\":" << row.scored << ",\"accepted\":" << row.accepted
        << ",\"cost_per_accepted_usd\":";
    if (row.accepted == 0) out << "null"; else out << usd_plain(Money::from_nanos(row.spend.nanos / row.accepted));
    out << "}";
  };
  out << "{\"group_by\":[";
  for (size_t i = 0; i < r.group_by.size(); ++i) {
    if (i) out << ",";
    put_string(r.group_by[i]);
  }
  out << "],\"rows\":[";
  for (size_t i = 0; i < r.rows.size(); ++i) {
    if (i) out << ",";
    object(r.rows[i]);
  }
  out << "],\"total\":";
  object(r.total);
  out << "}\n";
}

// "7d", "12h", "30m" before `now_ms`, or a UTC date "2026-05-01".
Result<int64_t> parse_since(const std::string& text, int64_t now_ms) {
  int y = 0, m = 0, d = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3) {
    if (auto midnight = utc_midnight_ms(y, m, d)) return *midnight;
    return Error(ErrorCategory::bad_request,
                 "--since '" + text + "': the calendar has no such date; give a UTC date like 2026-05-01");
  }
  char unit = 0;
  long long n = 0;
  if (std::sscanf(text.c_str(), "%lld%c%c", &n, &unit, &tail) == 2 && n >= 0) {
    switch (unit) {
      case 'd': return now_ms - n * kDayMs;
      case 'h': return now_ms - n * kHourMs;
      case 'm': return now_ms - n * 60'000;
      default: break;
    }
  }
  return Error(ErrorCategory::bad_request,
               "--since '" + text + "': give a span like 7d, 12h, 30m, or a UTC date 2026-05-01");
}

}  // namespace

Result<Report> build_report(const ReportOptions& options) {
  for (const std::string& dim : options.group_by) {
    if (std::find(dimensions().begin(), dimensions().end(), dim) == dimensions().end()) {
      return Error(ErrorCategory::bad_request,
                   "--by '" + dim + "': group by team, user, route, provider, model or day");
    }
  }
  auto db = sql::Db::open(options.ledger_path, sql::Db::Mode::read_only, 5000);
  if (!db) return db.error();
  auto version = db->query_int("PRAGMA user_version");
  if (!version) return version.error();
  if (*version == 0) {
    return Error(ErrorCategory::ledger, "'" + options.ledger_path +
                                            "' is not a tollgate ledger (no schema); pass the "
                                            "file named by the engine's ledger_path");
  }
  auto q = db->prepare(kQuery);
  if (!q) return q.error();
  q->bind(1, options.since_ms);

  std::map<std::vector<std::string>, Group> groups;
  Group total;
  std::vector<std::string> key;
  for (;;) {
    auto more = q->step();
    if (!more) return more.error();
    if (!*more) break;
    key.clear();
    for (const std::string& dim : options.group_by) key.push_back(key_of(*q, dim));
    groups[key].add(*q, options.accept);
    total.add(*q, options.accept);
  }

  Report report;
  report.group_by = options.group_by;
  for (auto& [k, g] : groups) {
    report.rows.push_back(g.finish());
    report.rows.back().keys = k;
  }
  std::stable_sort(report.rows.begin(), report.rows.end(),
                   [](const ReportRow& a, const ReportRow& b) { return a.spend > b.spend; });
  report.total = total.finish();
  return report;
}

void print_report(const Report& report, ReportFormat format, std::ostream& out) {
  switch (format) {
    case ReportFormat::table: print_table(report, out); break;
    case ReportFormat::csv: print_csv(report, out); break;
    case ReportFormat::json: print_json(report, out); break;
  }
}

int run_report(ReportOptions options, const std::string& since, std::ostream& out, std::ostream& err) {
  auto since_ms = parse_since(since, unix_now_ms());
  if (!since_ms) {
    err << "tollgate report: " << since_ms.error().message() << "\n";
    return 2;
  }
  options.since_ms = *since_ms;
  auto report = build_report(options);
  if (!report) {
    err << "tollgate report: " << report.error().message() << "\n";
    return report.error().category() == ErrorCategory::bad_request ? 2 : 1;
  }
  print_report(*report, options.format, out);
  return 0;
}

}  // namespace tollgate::engine
