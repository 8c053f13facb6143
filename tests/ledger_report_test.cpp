// `tollgate report`: grouping, the blended bill, cost per accepted outcome,
// the three formats and the CLI's errors.
#include <catch2/catch.hpp>

#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/ledger/ledger.hpp"
#include "engine/ledger/report.hpp"
#include "ledger_test_util.hpp"

using namespace tollgate;
using namespace tollgate::engine;
using tollgate::testing::make_row;
using tollgate::testing::TempDir;

namespace {

constexpr int64_t kMay5 = 1'777'939'200'000;  // 2026-05-05T00:00Z

// Two providers over two days; one error; two scored requests, one accepted.
void fill(const std::string& path) {
  LedgerOptions options;
  options.clock = [] { return kMay5; };
  auto ledger = Ledger::open(path, options);
  REQUIRE(ledger.ok());
  auto add = [&](const std::string& id, int attempt, int64_t t, const std::string& provider,
                 int64_t cost, AttemptStatus status, int64_t latency) {
    LedgerRow r = make_row(id, t, Money::from_nanos(cost));
    r.attempt = attempt;
    r.provider = provider;
    r.model = provider == "openai" ? "gpt-4o" : "deepseek-v4-flash";
    r.status = status;
    r.latency_ms = latency;
    r.saved = Money::from_nanos(status == AttemptStatus::cache_hit ? 5000 : 0);
    REQUIRE((*ledger)->append(r).ok());
  };
  add("r1", 1, kMay5 + 1000, "deepseek", 0, AttemptStatus::error, -1);
  add("r1", 2, kMay5 + 2000, "openai", 40'000, AttemptStatus::ok, 800);
  add("r2", 1, kMay5 + 3000, "deepseek", 10'000, AttemptStatus::ok, 200);
  add("r3", 1, kMay5 + 86'400'000, "deepseek", 0, AttemptStatus::cache_hit, 1);
  add("old", 1, kMay5 - 86'400'000, "openai", 999'000, AttemptStatus::ok, 100);
  REQUIRE((*ledger)->record_quality("r1", 0.9, "review").ok());
  REQUIRE((*ledger)->record_quality("r2", 0.4, "review").ok());
}

// `tollgate report --ledger PATH --since SINCE --by ... --format ...`, its
// flags parsed (tools/main.cpp parses the command line).
ReportOptions flags(const std::string& path, std::vector<std::string> by = {},
                    ReportFormat format = ReportFormat::table) {
  ReportOptions options;
  options.ledger_path = path;
  options.group_by = std::move(by);
  options.format = format;
  return options;
}

int report(const ReportOptions& options, const std::string& since, std::string& out, std::string& err) {
  std::ostringstream o, e;
  const int rc = run_report(options, since, o, e);
  out = o.str();
  err = e.str();
  return rc;
}

}  // namespace

TEST_CASE("the report blends providers into one bill, as CSV") {
  TempDir dir;
  const auto path = dir.file("l.db");
  fill(path);
  std::string out, err;
  REQUIRE(report(flags(path, {"provider"}, ReportFormat::csv), "2026-05-05", out, err) == 0);
  CHECK(err.empty());
  CHECK(out ==
        "provider,requests,attempts,input_tokens,cached_tokens,output_tokens,spend,cache_saved,"
        "cache_hits,hit_rate,error_rate,p50_ms,p95_ms,scored,accepted,cost_per_accepted\n"
        "openai,1,1,1200,200,300,0.000040,0.000000,0,0.000000,0.000000,790,790,1,1,0.000040\n"
        "deepseek,3,3,3600,600,900,0.000010,0.000005,1,0.333333,0.333333,197,197,1,0,\n"
        "TOTAL,3,4,4800,800,1200,0.000050,0.000005,1,0.333333,0.250000,197,790,2,1,0.000050\n");
}

TEST_CASE("the report groups by several keys, and days are UTC") {
  TempDir dir;
  const auto path = dir.file("l.db");
  fill(path);
  ReportOptions options;
  options.ledger_path = path;
  options.since_ms = 0;
  options.group_by = {"day", "model"};
  auto r = build_report(options);
  REQUIRE(r.ok());
  REQUIRE(r->rows.size() == 4);
  CHECK(r->rows[0].keys == std::vector<std::string>{"2026-05-04", "gpt-4o"});  // most spend first
  CHECK(r->total.requests == 4);
  CHECK(r->total.spend == Money::from_nanos(1'049'000));
  // --accept moves the bar for an accepted outcome.
  options.accept = 0.3;
  auto lenient = build_report(options);
  REQUIRE(lenient.ok());
  CHECK(lenient->total.accepted == 2);
}

TEST_CASE("the report prints an aligned table and valid JSON") {
  TempDir dir;
  const auto path = dir.file("l.db");
  fill(path);
  std::string out, err;
  REQUIRE(report(flags(path, {"team"}), "2026-05-05", out, err) == 0);
  CHECK(out ==
        "team     requests  attempts  input_tokens  cached_tokens  output_tokens      spend  "
        "cache_saved  cache_hits  hit_rate  error_rate  p50_ms  p95_ms  scored  accepted  cost_per_accepted\n"
        "support         3         4          4800            800           1200  $0.000050    "
        "$0.000005           1     33.3%       25.0%     197     790       2         1          $0.000050\n"
        "--------------------------------------------------------------------------------------"
        "------------------------------------------------------------------------------------------------\n"
        "TOTAL           3         4          4800            800           1200  $0.000050    "
        "$0.000005           1     33.3%       25.0%     197     790       2         1          $0.000050\n");
  REQUIRE(report(flags(path, {}, ReportFormat::json), "2026-05-05", out, err) == 0);
  const auto json = nlohmann::json::parse(out);
  CHECK(json["total"]["spend_nanos"] == 50'000);
  CHECK(json["total"]["requests"] == 3);
  CHECK(json["rows"].size() == 1);
}

// The flags' own errors (a missing --ledger, --accept 2) are the command
// line parser's: tests/cli_tests.cmake runs `tollgate report` for those.
TEST_CASE("the report's errors say what to do") {
  TempDir dir;
  std::string out, err;
  CHECK(report(flags(dir.file("x.db"), {"colour"}), "7d", out, err) == 2);
  CHECK_THAT(err, Catch::Contains("group by team, user, route, provider, model or day"));
  CHECK(report(flags(dir.file("x.db")), "last week", out, err) == 2);
  CHECK_THAT(err, Catch::Contains("give a span like 7d"));
  CHECK(report(flags(dir.file("missing.db")), "7d", out, err) == 1);
  CHECK_THAT(err, Catch::Contains("cannot open the ledger"));
}

TEST_CASE("report: --since takes a UTC date the calendar has, and refuses one it lacks") {
  TempDir dir;
  const auto path = dir.file("l.db");
  fill(path);
  std::string out, err;
  REQUIRE(report(flags(path, {}, ReportFormat::json), "2026-05-06", out, err) == 0);
  CHECK(nlohmann::json::parse(out)["total"]["requests"] == 1);  // r3 alone, a day after May 5th
  REQUIRE(report(flags(path), "2028-02-29", out, err) == 0);  // a leap day
  // Once rolled into March 3rd and accepted.
  CHECK(report(flags(path), "2026-02-31", out, err) == 2);
  CHECK(err == "tollgate report: --since '2026-02-31': the calendar has no such date; give a UTC date like 2026-05-01\n");
  CHECK(report(flags(path), "2027-02-29", out, err) == 2);
  CHECK_THAT(err, Catch::Contains("no such date"));
  CHECK(report(flags(path), "2026-13-01", out, err) == 2);
  CHECK_THAT(err, Catch::Contains("no such date"));
}

TEST_CASE("the report's JSON holds any team name: escaped, UTF-8 kept, other bytes replaced") {
  Report r;
  r.group_by = {"team"};
  const std::vector<std::string> names = {
      "q\"uote back\\slash",
      std::string("line\nbreak tab\t cr\r nul\0 \x01\x1f\x7f", 28),
      "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80",
      "bad \xC3( \xFF",
  };
  for (const auto& name : names) {
    ReportRow row;
    row.keys = {name};
    row.requests = 1;
    r.rows.push_back(row);
  }
  std::ostringstream out;
  print_report(r, ReportFormat::json, out);
  const std::string text = out.str();
  const auto doc = nlohmann::json::parse(text);  // throws, failing the test, if it is not JSON
  REQUIRE(doc["rows"].size() == names.size());
  for (size_t i = 0; i + 1 < names.size(); ++i) CHECK(doc["rows"][i]["team"] == names[i]);
  CHECK(doc["rows"][3]["team"] == "bad \xEF\xBF\xBD( \xEF\xBF\xBD");
  // Written as the gateway writes JSON (dump()'s escapes), UTF-8 as it is.
  CHECK_THAT(text, Catch::Contains(R"({"team":"q\"uote back\\slash","requests":1,)"));
  CHECK_THAT(text, Catch::Contains(R"("team":"line\nbreak tab\t cr\r nul\u0000 \u0001\u001f)" "\x7f\""));
  CHECK_THAT(text, Catch::Contains("\"team\":\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\""));
}
