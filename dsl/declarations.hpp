// What a policy declares, as plain C++ data.
//
// The loader runs each policy file once in a sandbox; the top-level calls
// (provider, model, team, route, guard, settings) append to a PolicyDecls.
// Everything declarative is compiled here, once; a Lua function the author
// wrote (a `when` predicate, a `select`) is kept as a slot number that the
// PolicyEvaluator calls per request. Every declaration remembers where it
// was written so errors can say `file:line:`.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tollgate::dsl {

// Label name -> value. A flag label (`pii_ok = true`) has the value "true".
using Labels = std::map<std::string, std::string, std::less<>>;

struct SourceLoc {
  std::string file;  // as given to the loader, shown by its base name
  int line = 0;
  std::string str() const;  // "by_task.lua:12"
};

// One required label: the candidate's labels must contain `label`, and equal
// `value` unless value is empty (then any value but "false" will do).
struct LabelRequirement {
  std::string label;
  std::string value;
  bool satisfied_by(const Labels& labels) const;
  std::string str() const;  // "pii_ok" or "region=eu"
};

// A declarative `when = { ... }`, compiled. All clauses must hold.
struct Matcher {
  enum class Field : uint8_t { team, user, tag, stream };
  enum class Test : uint8_t { one_of, present, absent };
  struct Clause {
    Field field = Field::tag;
    std::string key;                 // tag name (Field::tag)
    Test test = Test::one_of;
    std::vector<std::string> values;  // Test::one_of: any of these
  };
  std::vector<Clause> clauses;
  std::optional<int64_t> min_input_tokens, max_input_tokens;
  bool empty() const { return clauses.empty() && !min_input_tokens && !max_input_tokens; }
};

struct CapDecl {
  std::string window;   // "day" | "month" (UTC calendar) | "hour" | "rolling_24h"
  int64_t limit_nanos;  // the cap, in nano-dollars
};

// Timeouts and pool size for a provider; 0 means "the engine's default".
struct ProviderDecl {
  std::string name;
  std::string api;       // "openai" | "anthropic"; empty keeps the catalog's
  std::string base_url;  // empty keeps the catalog's
  std::string key_env;   // environment variable holding the API key
  std::map<std::string, std::string> headers;  // extra request headers
  Labels labels;
  int64_t pool_size = 0;
  int64_t connect_timeout_ms = 0, first_byte_timeout_ms = 0, idle_timeout_ms = 0,
          total_timeout_ms = 0;
  int64_t max_retries = -1;  // per candidate; -1: the engine's default
  std::string ca_file;       // extra CA bundle for TLS verification
  std::vector<CapDecl> caps;  // spend caps on this provider (finance alerts per provider)
  SourceLoc loc;
};

// Adds a model or overrides catalog fields. Unset fields keep the catalog's.
struct ModelDecl {
  std::string id;
  std::optional<std::string> provider, upstream;
  std::optional<double> input_usd_mtok, cached_input_usd_mtok, output_usd_mtok;
  std::optional<int64_t> context_window, max_output;
  Labels labels;
  // Quality the author expects per task ("default" for any task), used until
  // the ledger has measured enough scores.
  std::map<std::string, double, std::less<>> quality;
  SourceLoc loc;
};

struct TeamDecl {
  std::string name;
  std::vector<CapDecl> caps;
  std::string on_exceed = "deny";  // "deny" | "downgrade"
  std::string downgrade_route;     // on_exceed = "downgrade": the route to try
  double soft_limit = 0.8;         // fraction of a cap that fires an alert
  std::vector<LabelRequirement> require;
  std::map<std::string, std::vector<CapDecl>, std::less<>> user_caps;
  SourceLoc loc;
};

struct CacheDecl {
  bool enabled = false;
  int64_t ttl_ms = 0;
  bool shared = false;  // scope = "shared": across teams
};

struct RouteDecl {
  std::string name;
  Matcher when;
  int when_fn = -1;  // slot of a Lua `when` function, or -1
  std::vector<std::string> try_models;
  int select_fn = -1;  // slot of a Lua `select` function, or -1
  CacheDecl cache;
  std::optional<int64_t> max_usd_nanos;
  std::optional<double> min_quality;
  bool on_error_next = false;  // on_error = "next" (default "fail")
  std::vector<LabelRequirement> require;
  std::vector<CapDecl> caps;  // optional per-route caps
  SourceLoc loc;
};

// Requirements that apply to every route, fallback and downgrade whenever
// the request matches (e.g. tagged pii=true -> only pii_ok providers).
struct GuardDecl {
  std::string name;
  Matcher when;
  int when_fn = -1;
  std::vector<LabelRequirement> require;
  SourceLoc loc;
};

struct Settings {
  std::string on_ledger_error = "deny";  // "deny" | "allow"
  std::string default_task = "default";  // task name when a request has no `task` tag
};

struct PolicyDecls {
  std::vector<ProviderDecl> providers;
  std::vector<ModelDecl> models;
  std::vector<TeamDecl> teams;
  std::vector<RouteDecl> routes;
  std::vector<GuardDecl> guards;
  Settings settings;
  int function_count = 0;  // slots used by when/select functions
};

}  // namespace tollgate::dsl
