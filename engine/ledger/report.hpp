// `tollgate report`: the blended bill across providers, from a ledger file.
//
// Reads the ledger on its own read-only connection (safe while a service
// writes to it), groups attempts by any of team, user, route, provider,
// model and UTC day, and prints requests, tokens, spend, cache savings,
// error rate, latency and cost per accepted outcome as a table, CSV or
// JSON. A function of the library so the CLI and tests share it.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "tollgate/error.hpp"
#include "tollgate/money.hpp"

namespace tollgate::engine {

enum class ReportFormat : uint8_t { table, csv, json };

struct ReportOptions {
  std::string ledger_path;
  int64_t since_ms = 0;                 // attempts at or after this unix time
  std::vector<std::string> group_by;    // "team", "user", "route", "provider", "model", "day"
  ReportFormat format = ReportFormat::table;
  double accept = 0.7;                  // a request scored at or above this is an accepted outcome
};

struct ReportRow {
  std::vector<std::string> keys;  // one per group_by entry; empty for the total
  int64_t requests = 0;           // distinct requests with an attempt in the group
  int64_t attempts = 0;
  int64_t errors = 0;             // attempts with status error
  int64_t cache_hits = 0;         // requests answered from tollgate's cache
  int64_t input_tokens = 0, cached_input_tokens = 0, output_tokens = 0;
  Money spend, saved;
  int64_t p50_ms = -1, p95_ms = -1;  // successful attempts
  int64_t scored = 0;    // attempts with a quality score
  int64_t accepted = 0;  // ... scored at or above `accept`
  double error_rate() const { return attempts ? double(errors) / double(attempts) : 0; }
  double hit_rate() const { return requests ? double(cache_hits) / double(requests) : 0; }
};

struct Report {
  std::vector<std::string> group_by;
  std::vector<ReportRow> rows;  // sorted by spend, highest first
  ReportRow total;
};

Result<Report> build_report(const ReportOptions& options);
void print_report(const Report& report, ReportFormat format, std::ostream& out);

// `tollgate report` once its flags are parsed (tools/main.cpp): the report
// of the attempts since `since` (7d, 12h, 30m before now, or a UTC date
// 2026-05-01; it sets options.since_ms), printed to `out`, problems to `err`.
// Returns the exit status: 0 done, 1 the ledger could not be read, 2 a bad
// --since or --by.
int run_report(ReportOptions options, const std::string& since, std::ostream& out, std::ostream& err);

}  // namespace tollgate::engine
