// The mock's random faults (fault_rate, faults, fault_seed): parsed from a
// script, drawn reproducibly from a seed, and never in place of a scripted
// fault that is still due.
#include <map>

#include <catch2/catch.hpp>

#include "mock/mock_script.hpp"

using namespace tollgate::adapters;

TEST_CASE("mock: random faults are scripted, drawn from their list and replayed by seed") {
  MockBehavior b;
  REQUIRE(apply_mock_script("fault_rate=0.5;faults=reset,hang;fault_seed=7", b));
  CHECK(b.fault_rate == 0.5);
  CHECK(b.random_faults == std::vector<MockFault>{MockFault::reset, MockFault::hang});
  CHECK(b.fault_seed == 7);
  CHECK(apply_mock_script("faults=reset,nonsense", b).error() == "mock script: unknown fault 'nonsense' in faults");
  CHECK(apply_mock_script("fault_rate=2", b).error() == "mock script: 'fault_rate' wants a number from 0 to 1");
  MockBehavior from_json;
  REQUIRE(apply_mock_json(nlohmann::json{{"fault_rate", 0.5}, {"faults", {"reset", "hang"}}}, from_json));
  CHECK(from_json.random_faults == b.random_faults);

  const MockRequest request;
  std::map<MockFault, int> drawn;
  for (uint64_t serial = 1; serial <= 2000; ++serial) {
    const MockFault f = mock_fault_for(b, request, 1, serial);
    ++drawn[f];
    CHECK(f == mock_fault_for(b, request, 1, serial));  // a pure function of seed and serial
  }
  CHECK(drawn.size() == 3);  // none, reset, hang
  CHECK(drawn[MockFault::none] > 800);
  CHECK(drawn[MockFault::none] < 1200);

  MockBehavior every_kind;
  every_kind.fault_rate = 1;
  std::map<MockFault, int> kinds;
  for (uint64_t serial = 1; serial <= 1000; ++serial) ++kinds[mock_fault_for(every_kind, request, 1, serial)];
  CHECK(kinds.size() == kMockFaultKinds - 1);  // every kind but none
  CHECK(kinds.count(MockFault::none) == 0);

  // A scripted fault that is still due wins; once spent, random draws resume.
  MockBehavior scripted = every_kind;
  scripted.random_faults = {MockFault::reset};
  scripted.fault = MockFault::rate_limit;
  scripted.fail_times = 1;
  CHECK(mock_fault_for(scripted, request, 1, 1) == MockFault::rate_limit);
  CHECK(mock_fault_for(scripted, request, 2, 2) == MockFault::reset);
  MockBehavior calm;
  CHECK(mock_fault_for(calm, request, 1, 1) == MockFault::none);
}
