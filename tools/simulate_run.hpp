// `tollgate simulate`: replays traffic through a policy with no network and
// adds up the counterfactual bill.
//
// Each line is decided by the router exactly as the engine would, then its
// worst case is reserved against the spend caps at the line's timestamp (so
// caps fill, deny and downgrade as they would have), and settled at the
// first candidate's catalog prices for the line's tokens. The baseline is
// what the same tokens cost on one model (default gpt-4o), with no caps:
// what sending everything to one model costs today.
//
// Simplifications, stated so nobody reads more into the figures: the first
// candidate always answers (no provider failures, no fallbacks), there is
// no response cache and no provider prompt caching, and the answer's length
// does not depend on the model.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/routing/policy_set.hpp"
#include "tollgate/money.hpp"
#include "tools/simulate_traffic.hpp"

namespace tollgate::tools {

struct Bill {
  int64_t requests = 0;    // lines for this key
  int64_t served = 0;      // answered by a routed model
  int64_t denied = 0;      // refused by a cap
  int64_t downgraded = 0;  // served by the team's downgrade route
  int64_t errors = 0;      // the policy could not route them
  int64_t input_tokens = 0, output_tokens = 0;
  Money cost;      // routed: what tollgate would have charged
  Money baseline;  // every line on the baseline model
  void add(const Bill& o);
};

struct CapHit {
  std::string scope;   // "team", "user", "route", "provider"
  std::string team;    // the requesting team
  std::string name;    // the capped team, user, route or provider
  std::string window;  // "day", "month", ...
  Money cap;
  int64_t first_hit_ms = 0;
  int64_t denied = 0, downgraded = 0;
};

struct SimulationResult {
  std::string baseline_model;
  int64_t lines = 0;
  int64_t first_ms = 0, last_ms = 0;
  int64_t output_assumed = 0;  // lines whose output tokens were assumed
  Bill total;
  std::map<std::string, Bill> by_team;
  std::map<std::pair<std::string, std::string>, Bill> by_team_route;
  std::map<std::string, Bill> by_route;
  std::map<std::string, Bill> by_model;  // served lines, by the model that served them
  std::vector<CapHit> cap_hits;          // in order of first hit
  std::map<std::string, int64_t> error_messages;  // policy errors, counted (bounded)
};

class Simulator {
 public:
  // Fails with a config error when the baseline model is not in the
  // catalog or has no price, or when the policy's caps are invalid.
  static Result<std::unique_ptr<Simulator>> create(std::shared_ptr<const engine::PolicySet> policy,
                                                   const std::string& baseline_model);
  ~Simulator();

  // Replays one line. Times before the previous line's are taken as the
  // previous line's (caps only move forward).
  void replay(const TrafficLine& line);
  const SimulationResult& result() const { return result_; }

 private:
  struct State;
  explicit Simulator(std::unique_ptr<State> state);
  std::unique_ptr<State> s_;
  SimulationResult& result_;
};

}  // namespace tollgate::tools
