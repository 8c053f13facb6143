// Decision rendering: the trace as text for people and JSON for machines.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "tollgate/result.hpp"

namespace tollgate {

std::string_view to_string(TraceReason reason) noexcept {
  switch (reason) {
    case TraceReason::route_matched: return "route_matched";
    case TraceReason::route_not_matched: return "route_not_matched";
    case TraceReason::route_no_candidates: return "route_no_candidates";
    case TraceReason::route_error_next: return "route_error_next";
    case TraceReason::route_forced: return "route_forced";
    case TraceReason::candidate_selected: return "selected";
    case TraceReason::candidate_unknown: return "unknown_model";
    case TraceReason::candidate_unpriced: return "unpriced";
    case TraceReason::candidate_label: return "label_required";
    case TraceReason::candidate_context: return "context_window";
    case TraceReason::candidate_max_output: return "max_output";
    case TraceReason::candidate_max_usd: return "max_usd";
    case TraceReason::candidate_quality: return "min_quality";
    case TraceReason::candidate_unhealthy: return "unhealthy";
    case TraceReason::candidate_duplicate: return "duplicate";
  }
  return "unknown";
}

namespace {

std::string money(int64_t nanos) { return Money::from_nanos(nanos).str(); }

std::string score(int64_t micros) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(micros) / 1e6);
  return buf;
}

// One sentence per entry, saying what happened and why.
std::string describe(const TraceEntry& e) {
  switch (e.reason) {
    case TraceReason::route_matched: return "matched";
    case TraceReason::route_not_matched: return "did not match";
    case TraceReason::route_no_candidates: return "matched, but no candidate is usable; trying the next route";
    case TraceReason::route_error_next: return "policy function failed (on_error = \"next\"): " + e.detail;
    case TraceReason::route_forced: return "chosen as the downgrade route";
    case TraceReason::candidate_selected: return "selected, worst case " + money(e.value);
    case TraceReason::candidate_unknown: return "skipped: no such model in the catalog";
    case TraceReason::candidate_unpriced: return "skipped: no price in the catalog";
    case TraceReason::candidate_label:
      return "skipped: lacks required label '" + (e.detail.empty() ? std::string(e.label) : e.detail) + "'";
    case TraceReason::candidate_context:
      return "skipped: needs " + std::to_string(e.value) + " tokens, context window is " + std::to_string(e.limit);
    case TraceReason::candidate_max_output:
      return "skipped: max_tokens " + std::to_string(e.value) + " exceeds its max output " + std::to_string(e.limit);
    case TraceReason::candidate_max_usd:
      return "skipped: worst case " + money(e.value) + " is over max_usd " + money(e.limit);
    case TraceReason::candidate_quality:
      return "skipped: quality " + score(e.value) + " is below min_quality " + score(e.limit);
    case TraceReason::candidate_unhealthy: return "skipped: provider circuit open (unhealthy)";
    case TraceReason::candidate_duplicate: return "skipped: listed twice";
  }
  return "";
}

bool is_candidate(const TraceEntry& e) { return e.reason >= TraceReason::candidate_selected; }

}  // namespace

std::string Decision::explain() const {
  std::string out;
  for (const auto& e : trace) {
    std::string line;
    if (is_candidate(e)) {
      std::string_view name = e.model.empty() ? std::string_view(e.detail) : e.model;
      line = "    " + std::string(name);
    } else {
      line = "  route '" + std::string(e.route) + "'";
    }
    if (line.size() < 34) line.resize(34, ' ');
    out += line + " " + describe(e) + "\n";
  }
  return out;
}

nlohmann::json Decision::to_json() const {
  nlohmann::json j;
  j["route"] = route.empty() ? nlohmann::json(nullptr) : nlohmann::json(std::string(route));
  j["input_tokens"] = input_tokens;
  auto& cands = j["candidates"] = nlohmann::json::array();
  for (const auto& c : candidates) {
    cands.push_back({{"provider", std::string(c.provider)},
                     {"model", std::string(c.model)},
                     {"upstream_model", std::string(c.upstream_model)},
                     {"context_window", c.context_window},
                     {"max_output", c.max_output},
                     {"est_cost_usd", c.est_cost.usd()},
                     {"est_cost_nanos", c.est_cost.nanos},
                     {"est_cost_cached_input_usd", c.est_cost_cached_input.usd()}});
  }
  j["cache"] = {{"enabled", cache.enabled},
                {"ttl_ms", cache.ttl_ms},
                {"scope", cache.scope == CacheScope::shared ? "shared" : "team"}};
  j["on_error"] = on_error_next ? "next" : "fail";
  auto& tr = j["trace"] = nlohmann::json::array();
  for (const auto& e : trace) {
    nlohmann::json t = {{"reason", std::string(to_string(e.reason))}, {"route", std::string(e.route)}};
    if (!e.model.empty()) t["model"] = std::string(e.model);
    if (!e.label.empty()) t["label"] = std::string(e.label);
    if (e.value || e.limit) t["value"] = e.value, t["limit"] = e.limit;
    if (!e.detail.empty()) t["detail"] = e.detail;
    t["text"] = describe(e);
    tr.push_back(std::move(t));
  }
  return j;
}

}  // namespace tollgate
