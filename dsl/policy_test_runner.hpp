// Runs policy tests written in Lua (`*_test.lua`), for `tollgate test`.
//
// A test file registers tests with test("name", function() ... end) and uses
// decide{ team=, user=, tags=, text=, system=, messages=, body=,
// input_tokens=, max_tokens=, stream= } to get decisions, asserting with
// expect(cond, msg), expect_eq(actual, expected), expect_models(d, {...})
// and expect_trace(d, model, reason). set_quality, set_healthy and set_spend
// stage the signals a policy reads; they reset before each test. The policy
// under test is foo.lua beside foo_test.lua, unless the file calls
// use_policy("a.lua", ...) at top level (paths relative to the test file).
//
// A failing assertion reports "file_test.lua:LINE: message".
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "tollgate/error.hpp"
#include "tollgate/request.hpp"
#include "tollgate/result.hpp"

namespace tollgate::dsl {

class PolicyTestHost {
 public:
  virtual ~PolicyTestHost() = default;
  virtual Result<void> load(const std::vector<std::string>& policy_paths) = 0;
  virtual Result<Decision> decide(const Request& request) = 0;
  virtual void reset_signals() = 0;
  virtual void set_quality(const std::string& model, const std::string& task, double mean, int64_t count) = 0;
  virtual void set_healthy(const std::string& model, bool healthy) = 0;
  virtual void set_spend(const std::string& team, const std::string& window, double spent_usd,
                         double cap_usd) = 0;
};

struct TestReport {
  int passed = 0;
  int failed = 0;
};

// Runs one test file; prints a line per test to `out`. A file that cannot
// load (or whose policy cannot) counts as one failure.
TestReport run_policy_test_file(const std::string& path, PolicyTestHost& host, std::ostream& out);

// Test files named by `paths`: files as given, directories searched for
// *_test.lua (not recursively), sorted.
Result<std::vector<std::string>> find_policy_tests(const std::vector<std::string>& paths);

}  // namespace tollgate::dsl
