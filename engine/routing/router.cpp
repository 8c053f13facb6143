#include "engine/routing/router.hpp"

#include <algorithm>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/json_depth.hpp"
#include "engine/budget/spend_cost.hpp"
#include "engine/stream_options.hpp"
#include "engine/routing/tokens.hpp"

namespace tollgate::engine {
namespace {

// Output tokens a request can produce on `m`: its max_tokens, else the
// model's max output, else (unknown) kAssumedMaxOutput; never more than the
// window leaves after the input. This is what a worst-case estimate charges.
// A request for n answers (OpenAI's "n") is billed n outputs and its input
// once, so the estimate charges the output n times.
constexpr int64_t kAssumedMaxOutput = 8192;
int64_t reserved_output(const ModelInfo& m, int64_t max_tokens, int64_t input_tokens, int64_t answers) {
  int64_t out = max_tokens;
  if (out <= 0) {
    out = m.max_output > 0 ? m.max_output : kAssumedMaxOutput;
    if (m.context_window > 0) out = std::min(out, std::max<int64_t>(m.context_window - input_tokens, 0));
  }
  return out * answers;
}

// The HostContext a policy function sees for one request.
class RequestHost final : public dsl::HostContext {
 public:
  RequestHost(const PolicySet& set, const Signals& signals, int64_t input_tokens, int64_t max_tokens,
              int64_t answers)
      : set_(set), signals_(signals), input_(input_tokens), max_tokens_(max_tokens), answers_(answers) {}

  std::optional<dsl::QualityStats> quality(std::string_view model, std::string_view task) const override {
    return signals_.quality(model, task);
  }
  bool healthy(std::string_view model) const override {
    const ModelInfo* m = set_.catalog.find_model(model);
    return m ? signals_.healthy(m->provider, m->id) : false;
  }
  std::optional<dsl::SpendStats> spend(std::string_view team, std::string_view window) const override {
    return signals_.spend(team, window);
  }
  std::optional<dsl::ModelFacts> model(std::string_view id) const override {
    const ModelInfo* m = set_.catalog.find_model(id);
    if (!m) return std::nullopt;
    auto usd = [](Price p) { return p.known() ? static_cast<double>(p.micros_per_mtok) / 1e6 : -1.0; };
    return dsl::ModelFacts{m->provider, usd(m->input), usd(m->cached_input), usd(m->output),
                           m->context_window, m->max_output};
  }
  int64_t estimate_cost_nanos(std::string_view id) const override {
    const ModelInfo* m = set_.catalog.find_model(id);
    if (!m || !m->priced()) return -1;
    return worst_case_cost(*m, input_, reserved_output(*m, max_tokens_, input_, answers_)).nanos;
  }

 private:
  const PolicySet& set_;
  const Signals& signals_;
  int64_t input_, max_tokens_, answers_;
};

bool clause_holds(const dsl::Matcher::Clause& c, const Request& req) {
  using F = dsl::Matcher::Field;
  using T = dsl::Matcher::Test;
  std::string_view value;
  bool present = true;
  switch (c.field) {
    case F::team: value = req.team; break;
    case F::user: value = req.user; present = !req.user.empty(); break;
    case F::stream: value = req.stream ? "true" : "false"; break;
    case F::tag: {
      auto it = req.tags.find(c.key);
      present = it != req.tags.end();
      if (present) value = it->second;
      break;
    }
  }
  switch (c.test) {
    case T::present: return present;
    case T::absent: return !present;
    case T::one_of:
      return present && std::any_of(c.values.begin(), c.values.end(),
                                    [&](const std::string& v) { return v == value; });
  }
  return false;
}

bool matcher_holds(const dsl::Matcher& m, const Request& req, int64_t input_tokens) {
  if (m.min_input_tokens && input_tokens < *m.min_input_tokens) return false;
  if (m.max_input_tokens && input_tokens > *m.max_input_tokens) return false;
  for (const auto& c : m.clauses)
    if (!clause_holds(c, req)) return false;
  return true;
}

// Per-thread scratch so the hot path reuses capacity instead of allocating.
struct Scratch {
  std::vector<const dsl::LabelRequirement*> requirements;
  std::vector<std::string> selected;
  std::vector<const ModelInfo*> models;
};
thread_local Scratch t_scratch;

TraceEntry route_entry(TraceReason reason, const dsl::RouteDecl& r) {
  TraceEntry e{};
  e.reason = reason;
  e.route = r.name;
  return e;
}

Error request_error(std::string msg) { return Error(ErrorCategory::bad_request, std::move(msg)); }

// Quality of `model` for the task: measured once there are enough scores,
// else the author's prior for the task, else for "default". -1: unknown.
double quality_of(const ModelInfo& m, std::string_view task, const Signals& signals) {
  if (auto q = signals.quality(m.id, task); q && q->count >= kMinQualitySamples) return q->mean;
  if (auto it = m.quality_prior.find(task); it != m.quality_prior.end()) return it->second;
  if (auto it = m.quality_prior.find("default"); it != m.quality_prior.end()) return it->second;
  return -1;
}

}  // namespace

int64_t input_tokens_of(const Request& request) {
  return request.input_tokens ? *request.input_tokens : estimate_request_tokens(request.body);
}

int64_t max_tokens_of(const Request& request) {
  if (request.max_tokens) return *request.max_tokens;
  for (const char* key : {"max_completion_tokens", "max_tokens"}) {
    auto it = request.body.find(key);
    if (it != request.body.end() && it->is_number_integer()) return it->get<int64_t>();
  }
  return 0;
}

namespace {

// The most answers one request may ask for (OpenAI's own limit for "n").
constexpr int64_t kMaxAnswers = 128;

// What is wrong with the body's output limits, if anything: a limit the
// caps cannot trust (a string, a fraction) would let a request reserve
// for one output and be billed for another.
std::optional<std::string> output_limits_problem(const nlohmann::json& body) {
  for (const char* key : {"max_completion_tokens", "max_tokens"}) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) continue;
    if (!it->is_number_integer() || it->get<int64_t>() < 1)
      return std::string(key) + " must be a positive whole number of tokens, not " + it->dump();
  }
  if (auto n = body.find("n"); n != body.end() && !n->is_null()) {
    if (!n->is_number_integer() || n->get<int64_t>() < 1 || n->get<int64_t>() > kMaxAnswers)
      return "n (the number of answers) must be a whole number from 1 to " + std::to_string(kMaxAnswers) +
             ", not " + n->dump();
  }
  return std::nullopt;
}

// How many answers the request asks for: the body's "n", else 1.
int64_t answers_of(const Request& request) {
  auto n = request.body.find("n");
  if (n == request.body.end() || !n->is_number_integer()) return 1;
  return std::clamp<int64_t>(n->get<int64_t>(), 1, kMaxAnswers);
}

}  // namespace

Result<void> decide(const std::shared_ptr<const PolicySet>& set_ptr, const Signals& signals,
                    const Request& req, Decision& out, DecideOptions opts) {
  const PolicySet& set = *set_ptr;
  out.route = {};
  out.candidates.clear();
  out.trace.clear();
  out.cache = CacheRule{};
  out.on_error_next = false;
  out.keep_alive = set_ptr;

  // Normalize and check the request.
  if (req.team.empty()) return request_error("the request has no team; set Request::team");
  if (!req.body.is_object()) return request_error("the request body must be a JSON object");
  if (nested_deeper_than(req.body, kMaxBodyDepth))
    return request_error("the request body is nested more than " + std::to_string(kMaxBodyDepth) +
                         " levels deep");
  if (!req.input_tokens) {
    auto messages = req.body.find("messages");
    if (messages == req.body.end() || !messages->is_array() || messages->empty())
      return request_error("the request body needs a non-empty \"messages\" array");
  }
  if (auto problem = stream_options_problem(req.body)) return request_error(*problem);
  if (auto problem = output_limits_problem(req.body)) return request_error(*problem);
  const int64_t max_tokens = max_tokens_of(req);
  if (max_tokens < 0) return request_error("max_tokens must be positive");
  const int64_t answers = answers_of(req);
  const int64_t input_tokens = input_tokens_of(req);
  out.input_tokens = input_tokens;

  std::string_view task = set.decls.settings.default_task;
  if (auto t = req.tags.find("task"); t != req.tags.end()) task = t->second;
  const dsl::RequestFacts facts{&req, input_tokens, max_tokens, task};
  const RequestHost host(set, signals, input_tokens, max_tokens, answers);
  auto predicate_error = [&](const dsl::SourceLoc& loc, const std::string& what, const Error& e) {
    return Error(ErrorCategory::policy, loc.str() + ": " + what, ": " + e.message());
  };

  // Requirements every candidate must meet: matching guards, and the team's.
  Scratch& scratch = t_scratch;
  scratch.requirements.clear();
  for (const auto& g : set.decls.guards) {
    bool applies = matcher_holds(g.when, req, input_tokens);
    if (applies && g.when_fn >= 0) {
      auto r = set.evaluator->predicate(g.when_fn, facts, host);
      if (!r.ok()) return predicate_error(g.loc, "guard '" + g.name + "' when", r.error());
      applies = *r;
    }
    if (applies)
      for (const auto& q : g.require) scratch.requirements.push_back(&q);
  }
  if (const dsl::TeamDecl* team = set.find_team(req.team))
    for (const auto& q : team->require) scratch.requirements.push_back(&q);

  auto consider_route = [&](const CompiledRoute& route) -> Result<bool> {
    const dsl::RouteDecl& r = *route.decl;
    // Which models: the compiled `try` list, or what `select` returns.
    const std::vector<const ModelInfo*>* models = &route.try_models;
    if (r.select_fn >= 0) {
      auto sel = set.evaluator->select(r.select_fn, facts, host, scratch.selected);
      if (!sel.ok()) {
        if (!r.on_error_next) return predicate_error(r.loc, "route '" + r.name + "' select", sel.error());
        TraceEntry e = route_entry(TraceReason::route_error_next, r);
        e.detail = sel.error().message();
        out.trace.push_back(std::move(e));
        return false;
      }
      scratch.models.clear();
      for (const auto& id : scratch.selected) {
        const ModelInfo* m = set.catalog.find_model(id);
        if (!m) {
          TraceEntry e = route_entry(TraceReason::candidate_unknown, r);
          e.detail = id;
          out.trace.push_back(std::move(e));
          continue;
        }
        scratch.models.push_back(m);
      }
      models = &scratch.models;
    }

    const size_t first = out.candidates.size();
    for (const ModelInfo* m : *models) {
      TraceEntry e = route_entry(TraceReason::candidate_selected, r);
      e.model = m->id;
      const auto dup = std::find_if(out.candidates.begin() + static_cast<long>(first), out.candidates.end(),
                                    [&](const Candidate& c) { return c.model == m->id; });
      const int64_t out_tokens = reserved_output(*m, max_tokens, input_tokens, answers);
      if (dup != out.candidates.end()) {
        e.reason = TraceReason::candidate_duplicate;
        out.trace.push_back(std::move(e));
        continue;
      }
      if (!m->priced()) {
        e.reason = TraceReason::candidate_unpriced;
        out.trace.push_back(std::move(e));
        continue;
      }
      const dsl::Labels& labels = set.labels_of(*m);
      const dsl::LabelRequirement* broken = nullptr;
      for (const auto& q : r.require)
        if (!q.satisfied_by(labels)) broken = &q;
      for (const auto* q : scratch.requirements)
        if (!broken && !q->satisfied_by(labels)) broken = q;
      if (broken) {
        e.reason = TraceReason::candidate_label;
        e.label = broken->label;
        e.detail = broken->value.empty() ? std::string() : broken->str();
        out.trace.push_back(std::move(e));
        continue;
      }
      if (max_tokens > 0 && m->max_output > 0 && max_tokens > m->max_output) {
        e.reason = TraceReason::candidate_max_output;
        e.value = max_tokens;
        e.limit = m->max_output;
        out.trace.push_back(std::move(e));
        continue;
      }
      // The window must hold the input and the output the caller asked for
      // (without max_tokens, the model stops where the window ends).
      if (m->context_window > 0 && input_tokens + max_tokens > m->context_window) {
        e.reason = TraceReason::candidate_context;
        e.value = input_tokens + max_tokens;
        e.limit = m->context_window;
        out.trace.push_back(std::move(e));
        continue;
      }
      const Money worst = worst_case_cost(*m, input_tokens, out_tokens);
      if (r.max_usd_nanos && worst.nanos > *r.max_usd_nanos) {
        e.reason = TraceReason::candidate_max_usd;
        e.value = worst.nanos;
        e.limit = *r.max_usd_nanos;
        out.trace.push_back(std::move(e));
        continue;
      }
      if (r.min_quality) {
        const double q = quality_of(*m, task, signals);
        if (q >= 0 && q < *r.min_quality) {
          e.reason = TraceReason::candidate_quality;
          e.value = static_cast<int64_t>(q * 1e6);
          e.limit = static_cast<int64_t>(*r.min_quality * 1e6);
          out.trace.push_back(std::move(e));
          continue;
        }
      }
      if (!opts.ignore_health && !signals.healthy(m->provider, m->id)) {
        e.reason = TraceReason::candidate_unhealthy;
        out.trace.push_back(std::move(e));
        continue;
      }
      e.value = worst.nanos;
      out.trace.push_back(std::move(e));
      Candidate c;
      c.provider = m->provider;
      c.model = m->id;
      c.upstream_model = m->upstream;
      c.context_window = m->context_window;
      c.max_output = out_tokens;
      c.est_cost = worst;
      c.est_cost_cached_input = cost_of(0, m->input, input_tokens, m->cached_or_input(), out_tokens, m->output);
      out.candidates.push_back(c);
    }
    if (out.candidates.size() == first) {
      out.trace.push_back(route_entry(TraceReason::route_no_candidates, r));
      return false;
    }
    out.route = r.name;
    out.cache = CacheRule{r.cache.enabled, r.cache.ttl_ms, r.cache.shared ? CacheScope::shared : CacheScope::team};
    out.on_error_next = r.on_error_next;
    return true;
  };

  if (opts.forced_route) {
    out.trace.push_back(route_entry(TraceReason::route_forced, *opts.forced_route->decl));
    auto r = consider_route(*opts.forced_route);
    if (!r.ok()) return r.error();
    if (*r) return {};
  } else {
    for (const CompiledRoute& route : set.routes) {
      const dsl::RouteDecl& r = *route.decl;
      bool matched = matcher_holds(r.when, req, input_tokens);
      if (matched && r.when_fn >= 0) {
        auto p = set.evaluator->predicate(r.when_fn, facts, host);
        if (!p.ok()) {
          if (!r.on_error_next) return predicate_error(r.loc, "route '" + r.name + "' when", p.error());
          TraceEntry e = route_entry(TraceReason::route_error_next, r);
          e.detail = p.error().message();
          out.trace.push_back(std::move(e));
          continue;
        }
        matched = *p;
      }
      if (!matched) {
        out.trace.push_back(route_entry(TraceReason::route_not_matched, r));
        continue;
      }
      out.trace.push_back(route_entry(TraceReason::route_matched, r));
      auto taken = consider_route(route);
      if (!taken.ok()) return taken.error();
      if (*taken) return {};
    }
  }
  // The trace quotes every route's reason, a policy's error messages included.
  const std::string what = "for team '" + req.team + "' (task '" + std::string(task) + "', ~" +
                           std::to_string(input_tokens) + " input tokens)";
  // Health is checked last, so a candidate skipped as unhealthy met every
  // other condition: once its circuit closes, its route is usable.
  const bool cooling = std::any_of(out.trace.begin(), out.trace.end(), [](const TraceEntry& e) {
    return e.reason == TraceReason::candidate_unhealthy;
  });
  if (cooling)
    return Error(ErrorCategory::unavailable,
                 "the providers that could answer " + what +
                     " are cooling down after repeated failures (their circuits are open)",
                 ":\n" + out.explain());
  return Error(ErrorCategory::policy, "no route has a usable candidate " + what, ":\n" + out.explain());
}

}  // namespace tollgate::engine
