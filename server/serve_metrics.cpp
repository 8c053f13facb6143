#include "server/serve_metrics.hpp"

#include <cmath>
#include <cstdio>

namespace tollgate::tools {
namespace {

std::string_view or_none(std::string_view s) { return s.empty() ? std::string_view("none") : s; }

std::string join(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) {
    if (!out.empty()) out += '\n';
    out += or_none(p);
  }
  return out;
}

// Splits a join()ed key back into its label values.
template <std::size_t N>
std::array<std::string_view, N> split(std::string_view key) {
  std::array<std::string_view, N> out{};
  for (std::size_t i = 0; i < N; ++i) {
    const auto nl = key.find('\n');
    out[i] = key.substr(0, nl);
    key = nl == std::string_view::npos ? std::string_view{} : key.substr(nl + 1);
  }
  return out;
}

// Bucket bounds only: short constants that %g prints as written.
std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

std::string decimal_nanos(int64_t nanos) {
  // Split before negating: -INT64_MIN does not fit, its quotient does.
  const int64_t whole = nanos / 1'000'000'000, frac = nanos % 1'000'000'000;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s%lld.%09lld", nanos < 0 ? "-" : "", static_cast<long long>(whole < 0 ? -whole : whole),
                static_cast<long long>(frac < 0 ? -frac : frac));
  return buf;
}

std::string prom_escape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void Metrics::record(const MetricSample& s) {
  std::string key = join({s.team, s.route, s.model});
  std::string hkey = join({s.route, s.model});
  std::lock_guard lock(mu_);
  auto it = series_.find(key);
  if (it == series_.end()) {
    if (series_.size() >= kMaxSeries) key = join({"other", "other", "other"});
    it = series_.try_emplace(std::move(key)).first;
  }
  Series& m = it->second;
  ++m.requests[s.status];
  m.input += s.input_tokens;
  m.cached += s.cached_input_tokens;
  m.output += s.output_tokens;
  m.cost += s.cost;
  m.saved += s.saved;
  m.hits += s.cache_hit ? 1 : 0;

  auto h = latency_.find(hkey);
  if (h == latency_.end()) {
    if (latency_.size() >= kMaxSeries) hkey = join({"other", "other"});
    h = latency_.try_emplace(std::move(hkey)).first;
  }
  std::size_t b = 0;
  while (b < kBuckets.size() && s.seconds > kBuckets[b]) ++b;
  ++h->second.counts[b];
  h->second.sum_ns += std::llround(s.seconds * 1e9);
  ++h->second.count;
}

std::string Metrics::render() const {
  std::string out;
  auto labels = [](std::string_view key) {
    const auto [team, route, model] = split<3>(key);
    return "team=\"" + prom_escape(team) + "\",route=\"" + prom_escape(route) + "\",model=\"" + prom_escape(model) + "\"";
  };
  std::lock_guard lock(mu_);
  out += "# HELP tollgate_requests_total Chat completion requests, by team, route, model and HTTP status.\n"
         "# TYPE tollgate_requests_total counter\n";
  for (const auto& [k, m] : series_)
    for (const auto& [status, n] : m.requests)
      out += "tollgate_requests_total{" + labels(k) + ",status=\"" + std::to_string(status) + "\"} " + std::to_string(n) + "\n";
  out += "# HELP tollgate_tokens_total Tokens billed: input (all prompt tokens), cached_input (the part at the cached price), output.\n"
         "# TYPE tollgate_tokens_total counter\n";
  for (const auto& [k, m] : series_) {
    const std::string l = labels(k);
    out += "tollgate_tokens_total{" + l + ",kind=\"input\"} " + std::to_string(m.input) + "\n";
    out += "tollgate_tokens_total{" + l + ",kind=\"cached_input\"} " + std::to_string(m.cached) + "\n";
    out += "tollgate_tokens_total{" + l + ",kind=\"output\"} " + std::to_string(m.output) + "\n";
  }
  out += "# HELP tollgate_cost_usd_total Spend charged to teams, USD.\n# TYPE tollgate_cost_usd_total counter\n";
  for (const auto& [k, m] : series_) out += "tollgate_cost_usd_total{" + labels(k) + "} " + decimal_nanos(m.cost.nanos) + "\n";
  out += "# HELP tollgate_saved_usd_total Spend avoided by the response cache and provider prompt caches, USD.\n"
         "# TYPE tollgate_saved_usd_total counter\n";
  for (const auto& [k, m] : series_) out += "tollgate_saved_usd_total{" + labels(k) + "} " + decimal_nanos(m.saved.nanos) + "\n";
  out += "# HELP tollgate_cache_hits_total Requests answered from the response cache.\n# TYPE tollgate_cache_hits_total counter\n";
  for (const auto& [k, m] : series_) out += "tollgate_cache_hits_total{" + labels(k) + "} " + std::to_string(m.hits) + "\n";

  out += "# HELP tollgate_request_duration_seconds Whole request as the gateway saw it, by route and model.\n"
         "# TYPE tollgate_request_duration_seconds histogram\n";
  for (const auto& [k, h] : latency_) {
    const auto [route, model] = split<2>(k);
    const std::string l = "route=\"" + prom_escape(route) + "\",model=\"" + prom_escape(model) + "\"";
    int64_t cumulative = 0;
    for (std::size_t b = 0; b < kBuckets.size(); ++b) {
      cumulative += h.counts[b];
      out += "tollgate_request_duration_seconds_bucket{" + l + ",le=\"" + num(kBuckets[b]) + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += "tollgate_request_duration_seconds_bucket{" + l + ",le=\"+Inf\"} " + std::to_string(h.count) + "\n";
    out += "tollgate_request_duration_seconds_sum{" + l + "} " + decimal_nanos(h.sum_ns) + "\n";
    out += "tollgate_request_duration_seconds_count{" + l + "} " + std::to_string(h.count) + "\n";
  }
  return out;
}

}  // namespace tollgate::tools
