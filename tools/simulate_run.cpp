#include "tools/simulate_run.hpp"

#include <algorithm>

#include "engine/signals/live_signals.hpp"
#include "engine/routing/router.hpp"
#include "engine/budget/spend_cost.hpp"
#include "engine/budget/spend_gate.hpp"

namespace tollgate::tools {

void Bill::add(const Bill& o) {
  requests += o.requests;
  served += o.served;
  denied += o.denied;
  downgraded += o.downgraded;
  errors += o.errors;
  input_tokens += o.input_tokens;
  output_tokens += o.output_tokens;
  cost += o.cost;
  baseline += o.baseline;
}

namespace {
constexpr std::size_t kMaxErrorKinds = 50;
constexpr engine::SpendWindow kWindows[] = {engine::SpendWindow::hour, engine::SpendWindow::day,
                                            engine::SpendWindow::month, engine::SpendWindow::rolling_24h};
constexpr engine::CapScope kScopes[] = {engine::CapScope::user, engine::CapScope::team, engine::CapScope::route,
                                        engine::CapScope::provider};
}  // namespace

struct Simulator::State {
  std::shared_ptr<const engine::PolicySet> policy;
  const engine::ModelInfo* baseline = nullptr;
  engine::SpendGate gate;
  int64_t now_ms = 0;
  bool started = false;
  std::unique_ptr<engine::LiveSignals> signals;  // spend from the gate, at the replay's clock
  Decision decision;
  SimulationResult result;
  std::map<std::string, std::size_t> hit_index;  // scope/team/name/window -> cap_hits index

  // Which cap refused `need` (the first, most specific, that has no room),
  // recorded in result.cap_hits; its index, or npos if none is found.
  std::size_t note_cap_hit(const engine::SpendKeys& keys, Money need) {
    for (auto scope : kScopes) {
      for (auto w : kWindows) {
        const auto snap = gate.snapshot(scope, keys, w, now_ms);
        if (!snap || !snap->cap) continue;
        const auto room = snap->remaining();
        if (!room || *room >= need) continue;
        const std::string scope_name(to_string(scope));
        const std::string key = scope_name + "/" + snap->team + "/" + snap->name + "/" + std::string(to_string(w));
        auto [it, fresh] = hit_index.try_emplace(key, result.cap_hits.size());
        if (fresh) {
          result.cap_hits.push_back({scope_name, std::string(keys.team), snap->name, std::string(to_string(w)),
                                     *snap->cap, now_ms, 0, 0});
        }
        return it->second;
      }
    }
    return std::string::npos;
  }
};

Simulator::Simulator(std::unique_ptr<State> state) : s_(std::move(state)), result_(s_->result) {}
Simulator::~Simulator() = default;

Result<std::unique_ptr<Simulator>> Simulator::create(std::shared_ptr<const engine::PolicySet> policy,
                                                     const std::string& baseline_model) {
  auto s = std::make_unique<State>();
  s->baseline = policy->catalog.find_model(baseline_model);
  if (!s->baseline) return Error(ErrorCategory::config, "baseline model '" + baseline_model + "' is not in the catalog");
  if (!s->baseline->priced()) return Error(ErrorCategory::config, "baseline model '" + baseline_model + "' has no price in the catalog");
  if (auto ok = s->gate.configure(policy->decls); !ok.ok()) return ok.error();
  s->policy = std::move(policy);
  s->result.baseline_model = baseline_model;
  State* raw = s.get();
  s->signals = std::make_unique<engine::LiveSignals>(nullptr, nullptr, &s->gate, [raw] { return raw->now_ms; });
  return std::unique_ptr<Simulator>(new Simulator(std::move(s)));
}

void Simulator::replay(const TrafficLine& line) {
  State& s = *s_;
  SimulationResult& out = s.result;
  const int64_t ts = line.ts_ms.value_or(s.now_ms);
  s.now_ms = s.started ? std::max(s.now_ms, ts) : ts;
  if (!s.started) out.first_ms = s.now_ms;
  s.started = true;
  out.last_ms = s.now_ms;
  ++out.lines;
  out.output_assumed += line.output_assumed ? 1 : 0;

  const Request& req = line.request;
  Bill b;
  b.requests = 1;
  b.output_tokens = line.output_tokens;
  std::string route = "(unroutable)", model;

  auto decided = engine::decide(s.policy, *s.signals, req, s.decision);
  b.input_tokens = s.decision.input_tokens;
  if (!decided.ok() || s.decision.candidates.empty()) {
    b.input_tokens = engine::input_tokens_of(req);
    b.errors = 1;
    const std::string msg = decided.ok() ? "no route has a usable model for some requests" : decided.error().message();
    if (out.error_messages.count(msg) || out.error_messages.size() < kMaxErrorKinds) ++out.error_messages[msg];
  } else {
    route = std::string(s.decision.route);
    const Candidate* c = &s.decision.candidates.front();
    engine::SpendKeys keys{req.team, req.user, s.decision.route, c->provider};
    auto reservation = s.gate.reserve(keys, c->est_cost, s.now_ms);
    std::size_t hit = std::string::npos;
    if (!reservation.ok()) {
      hit = s.note_cap_hit(keys, c->est_cost);
      const auto* team = s.policy->find_team(req.team);
      const auto* down = team && team->on_exceed == "downgrade" ? s.policy->find_route(team->downgrade_route) : nullptr;
      if (down && engine::decide(s.policy, *s.signals, req, s.decision, {down}).ok() && !s.decision.candidates.empty()) {
        c = &s.decision.candidates.front();
        keys = {req.team, req.user, s.decision.route, c->provider};
        reservation = s.gate.reserve(keys, c->est_cost, s.now_ms);
        if (reservation.ok()) {
          b.downgraded = 1;
          route = std::string(s.decision.route);
        }
      }
    }
    if (reservation.ok()) {
      const engine::ModelInfo* m = s.policy->catalog.find_model(c->model);
      const Money cost = m ? engine::usage_cost(*m, b.input_tokens, 0, line.output_tokens).cost : c->est_cost;
      reservation->settle(cost, s.now_ms);
      b.cost = cost;
      b.served = 1;
      model = std::string(c->model);
    } else {
      b.denied = 1;
    }
    // A refusal counts against the cap that first said no, even when the
    // downgrade route was refused too.
    if (hit != std::string::npos) (b.denied ? out.cap_hits[hit].denied : out.cap_hits[hit].downgraded) += 1;
  }
  b.baseline = engine::usage_cost(*s.baseline, b.input_tokens, 0, line.output_tokens).cost;

  out.total.add(b);
  out.by_team[req.team].add(b);
  out.by_team_route[{req.team, route}].add(b);
  out.by_route[route].add(b);
  if (!model.empty()) out.by_model[model].add(b);
}

}  // namespace tollgate::tools
