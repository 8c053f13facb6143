#include "tools/simulate_report.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/budget/spend_window.hpp"

namespace tollgate::tools {
namespace {

std::string pct(double part, double whole) {
  if (whole <= 0) return "-";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * part / whole);
  return buf;
}

double saved_fraction(const Bill& b) {
  return b.baseline.nanos > 0 ? static_cast<double>((b.baseline - b.cost).nanos) / static_cast<double>(b.baseline.nanos) : 0;
}

// A table whose columns are as wide as their widest cell; the first column
// is left-aligned, the rest right-aligned (numbers).
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::ostream& out) const {
    std::vector<std::size_t> w(rows_.front().size(), 0);
    for (const auto& r : rows_)
      for (std::size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
    for (std::size_t n = 0; n < rows_.size(); ++n) {
      const auto& r = rows_[n];
      std::string line = "  ";
      for (std::size_t i = 0; i < r.size(); ++i) {
        const std::string pad(w[i] - r[i].size(), ' ');
        line += i == 0 ? r[i] + pad : pad + r[i];
        if (i + 1 < r.size()) line += "  ";
      }
      out << line << "\n";
      if (n == 0) {
        std::size_t total = 0;
        for (auto x : w) total += x + 2;
        out << "  " << std::string(total - 2, '-') << "\n";
      }
    }
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

std::vector<std::string> bill_cells(const Bill& b) {
  return {std::to_string(b.requests), b.cost.str(), b.baseline.str(), (b.baseline - b.cost).str(),
          pct(static_cast<double>((b.baseline - b.cost).nanos), static_cast<double>(b.baseline.nanos)),
          std::to_string(b.downgraded), std::to_string(b.denied), std::to_string(b.errors)};
}

nlohmann::json bill_json(const Bill& b) {
  return {{"requests", b.requests},         {"served", b.served},
          {"denied", b.denied},             {"downgraded", b.downgraded},
          {"errors", b.errors},             {"input_tokens", b.input_tokens},
          {"output_tokens", b.output_tokens}, {"cost_usd", b.cost.usd()},
          {"baseline_usd", b.baseline.usd()}, {"saved_usd", (b.baseline - b.cost).usd()},
          {"saved_fraction", saved_fraction(b)}, {"cost_nanos", b.cost.nanos},
          {"baseline_nanos", b.baseline.nanos}};
}

}  // namespace

void print_simulation(const SimulationResult& r, std::ostream& out) {
  out << "Replayed " << r.lines << (r.lines == 1 ? " request" : " requests");
  if (r.lines > 0) out << " from " << engine::utc_minute(r.first_ms) << " to " << engine::utc_minute(r.last_ms);
  out << ", against " << r.baseline_model << " for everything.\n";
  if (r.output_assumed > 0)
    out << "(" << r.output_assumed << (r.output_assumed == 1 ? " line gave" : " lines gave")
        << " no output_tokens: max_tokens, else " << kDefaultOutputTokens
        << ", was assumed)\n";
  const std::vector<std::string> head = {"requests", "routed", "baseline", "saved", "saved %", "downgraded", "denied", "errors"};

  out << "\nBy team\n";
  std::vector<std::string> h = {"team"};
  h.insert(h.end(), head.begin(), head.end());
  Table teams(h);
  for (const auto& [team, b] : r.by_team) {
    auto row = bill_cells(b);
    row.insert(row.begin(), team);
    teams.add(row);
  }
  auto total = bill_cells(r.total);
  total.insert(total.begin(), "total");
  teams.add(total);
  teams.print(out);

  out << "\nBy team and route\n";
  h = {"team", "route"};
  h.insert(h.end(), head.begin(), head.end());
  Table tr(h);
  for (const auto& [key, b] : r.by_team_route) {
    auto row = bill_cells(b);
    row.insert(row.begin(), {key.first, key.second});
    tr.add(row);
  }
  tr.print(out);

  out << "\nRoute shares\n";
  Table routes({"route", "requests", "of requests", "routed", "of routed spend", "baseline", "of baseline"});
  for (const auto& [route, b] : r.by_route) {
    routes.add({route, std::to_string(b.requests), pct(static_cast<double>(b.requests), static_cast<double>(r.total.requests)),
                b.cost.str(), pct(static_cast<double>(b.cost.nanos), static_cast<double>(r.total.cost.nanos)),
                b.baseline.str(), pct(static_cast<double>(b.baseline.nanos), static_cast<double>(r.total.baseline.nanos))});
  }
  routes.print(out);

  out << "\nModels that served\n";
  Table models({"model", "requests", "of served", "routed", "input tokens", "output tokens"});
  for (const auto& [model, b] : r.by_model) {
    models.add({model, std::to_string(b.served), pct(static_cast<double>(b.served), static_cast<double>(r.total.served)),
                b.cost.str(), std::to_string(b.input_tokens), std::to_string(b.output_tokens)});
  }
  models.print(out);

  out << "\nCap hits\n";
  if (r.cap_hits.empty()) {
    out << "  none: no request met a full cap\n";
  } else {
    Table caps({"cap", "window", "limit", "first hit", "downgraded", "denied"});
    for (const auto& c : r.cap_hits) {
      const std::string who = c.scope == "user" ? "user " + c.team + "/" + c.name : c.scope + " " + c.name;
      caps.add({who, c.window, c.cap.str(), engine::utc_minute(c.first_hit_ms), std::to_string(c.downgraded),
                std::to_string(c.denied)});
    }
    caps.print(out);
  }
  if (!r.error_messages.empty()) {
    out << "\nRequests the policy could not route\n";
    for (const auto& [msg, n] : r.error_messages) out << "  " << n << " x " << msg << "\n";
  }
  out << "\nAssumes the first candidate answers every request, with no cache; see `tollgate simulate --help`.\n";
}

nlohmann::json simulation_json(const SimulationResult& r) {
  nlohmann::json teams = nlohmann::json::array(), team_routes = nlohmann::json::array(),
                 routes = nlohmann::json::array(), models = nlohmann::json::array(), caps = nlohmann::json::array(),
                 errors = nlohmann::json::array();
  for (const auto& [team, b] : r.by_team) {
    auto j = bill_json(b);
    j["team"] = team;
    teams.push_back(std::move(j));
  }
  for (const auto& [key, b] : r.by_team_route) {
    auto j = bill_json(b);
    j["team"] = key.first;
    j["route"] = key.second;
    team_routes.push_back(std::move(j));
  }
  auto share = [](double part, double whole) { return whole > 0 ? part / whole : 0.0; };
  for (const auto& [route, b] : r.by_route) {
    auto j = bill_json(b);
    j["route"] = route;
    j["share_of_requests"] = share(static_cast<double>(b.requests), static_cast<double>(r.total.requests));
    j["share_of_cost"] = share(static_cast<double>(b.cost.nanos), static_cast<double>(r.total.cost.nanos));
    routes.push_back(std::move(j));
  }
  for (const auto& [model, b] : r.by_model) {
    auto j = bill_json(b);
    j["model"] = model;
    models.push_back(std::move(j));
  }
  for (const auto& c : r.cap_hits) {
    caps.push_back({{"scope", c.scope}, {"team", c.team}, {"name", c.name}, {"window", c.window},
                    {"cap_usd", c.cap.usd()}, {"first_hit", engine::utc_minute(c.first_hit_ms)},
                    {"first_hit_ms", c.first_hit_ms}, {"denied", c.denied}, {"downgraded", c.downgraded}});
  }
  for (const auto& [msg, n] : r.error_messages) errors.push_back({{"message", msg}, {"count", n}});
  return {{"baseline_model", r.baseline_model},
          {"lines", r.lines},
          {"from_ms", r.first_ms},
          {"to_ms", r.last_ms},
          {"output_tokens_assumed_lines", r.output_assumed},
          {"default_output_tokens", kDefaultOutputTokens},
          {"total", bill_json(r.total)},
          {"teams", teams},
          {"team_routes", team_routes},
          {"routes", routes},
          {"models", models},
          {"cap_hits", caps},
          {"errors", errors}};
}

}  // namespace tollgate::tools
