#include "engine/routing/catalog.hpp"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "adapters/http/http_field.hpp"

namespace tollgate::detail {
std::string_view default_catalog_json();  // generated from default_catalog.json
}

namespace tollgate::engine {
namespace {

using nlohmann::json;

Error config_error(std::string_view origin, const std::string& what) {
  return Error(ErrorCategory::config, std::string(origin) + ": " + what);
}

Price price_field(const json& m, const char* key) {
  auto it = m.find(key);
  if (it == m.end() || !it->is_number()) return Price{};
  return Price::from_usd_per_mtok(it->get<double>());
}

int64_t int_field(const json& m, const char* key) {
  auto it = m.find(key);
  return (it != m.end() && it->is_number()) ? it->get<int64_t>() : 0;
}

std::string string_field(const json& m, const char* key) {
  auto it = m.find(key);
  return (it != m.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

dsl::Labels labels_field(const json& m) {
  dsl::Labels out;
  auto it = m.find("labels");
  if (it == m.end() || !it->is_object()) return out;
  for (auto& [k, v] : it->items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
    else if (v.is_boolean()) out[k] = v.get<bool>() ? "true" : "false";
    else if (v.is_number()) out[k] = v.dump();
  }
  return out;
}

Result<ApiKind> parse_api(std::string_view s) {
  if (s == "openai") return ApiKind::openai;
  if (s == "anthropic") return ApiKind::anthropic;
  return Error(ErrorCategory::config,
               "unknown api '" + std::string(s) + "' (use \"openai\" or \"anthropic\")");
}

}  // namespace

std::string_view to_string(ApiKind api) noexcept {
  return api == ApiKind::anthropic ? "anthropic" : "openai";
}

Result<Catalog> Catalog::builtin() {
  return parse(tollgate::detail::default_catalog_json(), "built-in catalog");
}

Result<Catalog> Catalog::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return config_error(path, "cannot read the catalog file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

Result<Catalog> Catalog::parse(std::string_view text, std::string_view origin) {
  json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return config_error(origin, "not valid JSON");
  if (!doc.is_object()) return config_error(origin, "a catalog is a JSON object");
  if (auto u = doc.find("unit"); u != doc.end() && *u != "per_million_tokens")
    return config_error(origin, "unsupported price unit " + u->dump() +
                                    " (tollgate catalogs are per_million_tokens)");
  Catalog cat;
  if (auto ps = doc.find("providers"); ps != doc.end()) {
    if (!ps->is_object()) return config_error(origin, "\"providers\" must be an object");
    for (auto& [name, p] : ps->items()) {
      if (!p.is_object()) return config_error(origin, "provider '" + name + "' must be an object");
      if (adapters::has_any_control_char(name))
        return config_error(origin, "a provider name holds a control character (a line break, tab or NUL)");
      ProviderInfo& info = cat.provider_slot(name);
      auto api = parse_api(p.value("api", "openai"));
      if (!api.ok()) return config_error(origin, "provider '" + name + "': " + api.error().message());
      info.api = *api;
      info.base_url = string_field(p, "base_url");
      info.key_env = string_field(p, "key_env");
      info.labels = labels_field(p);
      if (auto h = p.find("headers"); h != p.end() && h->is_object())
        for (auto& [k, v] : h->items())
          if (v.is_string()) info.headers[k] = v.get<std::string>();
    }
  }
  auto ms = doc.find("models");
  if (ms == doc.end()) return config_error(origin, "no \"models\" in the catalog");
  // Accept both our map form {"id": {...}} and the list form [{"id": ...}].
  auto add = [&](const std::string& id, const json& m) -> Result<void> {
    if (id.empty()) return config_error(origin, "a model without an id");
    if (adapters::has_any_control_char(id))
      return config_error(origin, "a model id holds a control character (a line break, tab or NUL)");
    if (!m.is_object()) return config_error(origin, "model '" + id + "' must be an object");
    ModelInfo& info = cat.model_slot(id);
    info.provider = string_field(m, "provider");
    if (info.provider.empty()) return config_error(origin, "model '" + id + "' has no provider");
    if (adapters::has_any_control_char(info.provider))
      return config_error(origin, "model '" + id + "': its provider name holds a control character");
    info.upstream = string_field(m, "upstream");
    if (info.upstream.empty()) info.upstream = id;
    info.input = price_field(m, "input");
    info.cached_input = price_field(m, "cached_input");
    info.output = price_field(m, "output");
    info.context_window = int_field(m, "context_window");
    info.max_output = int_field(m, "max_output");
    info.labels = labels_field(m);
    if (!cat.find_provider(info.provider)) {
      // A model may name a provider the catalog does not describe; it is
      // usable once a policy declares that provider.
      ProviderInfo& p = cat.provider_slot(info.provider);
      auto api = parse_api(m.value("api", "openai"));
      if (!api.ok()) return config_error(origin, "model '" + id + "': " + api.error().message());
      p.api = *api;
    }
    return {};
  };
  if (ms->is_object()) {
    for (auto& [id, m] : ms->items())
      if (auto r = add(id, m); !r.ok()) return r.error();
  } else if (ms->is_array()) {
    for (auto& m : *ms)
      if (auto r = add(m.is_object() ? string_field(m, "id") : "", m); !r.ok()) return r.error();
  } else {
    return config_error(origin, "\"models\" must be an object or an array");
  }
  return cat;
}

ModelInfo& Catalog::model_slot(const std::string& id) {
  auto it = model_index_.find(id);
  if (it != model_index_.end()) return models_[it->second];
  model_index_.emplace(id, models_.size());
  models_.push_back(ModelInfo{});
  models_.back().id = id;
  return models_.back();
}

ProviderInfo& Catalog::provider_slot(const std::string& name) {
  auto it = provider_index_.find(name);
  if (it != provider_index_.end()) return providers_[it->second];
  provider_index_.emplace(name, providers_.size());
  providers_.push_back(ProviderInfo{});
  providers_.back().name = name;
  return providers_.back();
}

const ModelInfo* Catalog::find_model(std::string_view id) const {
  auto it = model_index_.find(id);
  return it == model_index_.end() ? nullptr : &models_[it->second];
}

const ProviderInfo* Catalog::find_provider(std::string_view name) const {
  auto it = provider_index_.find(name);
  return it == provider_index_.end() ? nullptr : &providers_[it->second];
}

Result<void> Catalog::apply(const std::vector<dsl::ProviderDecl>& providers,
                            const std::vector<dsl::ModelDecl>& models) {
  for (const auto& d : providers) {
    ProviderInfo& p = provider_slot(d.name);
    if (!d.api.empty()) {
      auto api = parse_api(d.api);
      if (!api.ok()) return Error(ErrorCategory::policy, d.loc.str() + ": provider '" + d.name +
                                                             "': " + api.error().message());
      p.api = *api;
    }
    if (!d.base_url.empty()) p.base_url = d.base_url;
    if (!d.key_env.empty()) p.key_env = d.key_env;
    for (const auto& [k, v] : d.headers) p.headers[k] = v;
    for (const auto& [k, v] : d.labels) p.labels[k] = v;
    if (d.pool_size) p.pool_size = d.pool_size;
    if (d.connect_timeout_ms) p.connect_timeout_ms = d.connect_timeout_ms;
    if (d.first_byte_timeout_ms) p.first_byte_timeout_ms = d.first_byte_timeout_ms;
    if (d.idle_timeout_ms) p.idle_timeout_ms = d.idle_timeout_ms;
    if (d.total_timeout_ms) p.total_timeout_ms = d.total_timeout_ms;
    if (d.max_retries >= 0) p.max_retries = d.max_retries;
    if (!d.ca_file.empty()) p.ca_file = d.ca_file;
  }
  for (const auto& d : models) {
    const bool is_new = find_model(d.id) == nullptr;
    ModelInfo& m = model_slot(d.id);
    if (d.provider) m.provider = *d.provider;
    if (is_new && m.provider.empty())
      return Error(ErrorCategory::policy, d.loc.str() + ": model '" + d.id +
                                              "' is not in the catalog, so it needs a provider");
    if (!find_provider(m.provider))
      return Error(ErrorCategory::policy, d.loc.str() + ": model '" + d.id + "' names provider '" +
                                              m.provider + "', which no catalog or policy declares");
    if (d.upstream) m.upstream = *d.upstream;
    if (m.upstream.empty()) m.upstream = d.id;
    if (d.input_usd_mtok) m.input = Price::from_usd_per_mtok(*d.input_usd_mtok);
    if (d.cached_input_usd_mtok) m.cached_input = Price::from_usd_per_mtok(*d.cached_input_usd_mtok);
    if (d.output_usd_mtok) m.output = Price::from_usd_per_mtok(*d.output_usd_mtok);
    if (d.context_window) m.context_window = *d.context_window;
    if (d.max_output) m.max_output = *d.max_output;
    for (const auto& [k, v] : d.labels) m.labels[k] = v;
    for (const auto& [k, v] : d.quality) m.quality_prior[k] = v;
  }
  return {};
}

dsl::Labels Catalog::labels_of(const ModelInfo& model) const {
  dsl::Labels out;
  if (const ProviderInfo* p = find_provider(model.provider)) out = p->labels;
  for (const auto& [k, v] : model.labels) out[k] = v;
  return out;
}

}  // namespace tollgate::engine
