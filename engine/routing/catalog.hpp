// The model catalog: what each model costs, how much it takes, who serves it.
//
// Loaded from JSON (the built-in default, or a user file), then amended by
// the policy's `provider` and `model` declarations. Immutable once built;
// shared read-only by every thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/declarations.hpp"
#include "tollgate/error.hpp"
#include "tollgate/money.hpp"

namespace tollgate::engine {

enum class ApiKind : uint8_t { openai, anthropic };
std::string_view to_string(ApiKind api) noexcept;

struct ProviderInfo {
  std::string name;
  ApiKind api = ApiKind::openai;
  std::string base_url;  // empty: unknown; requests to it fail with a config error
  std::string key_env;
  std::map<std::string, std::string> headers;
  dsl::Labels labels;
  int64_t pool_size = 0;
  int64_t connect_timeout_ms = 0, first_byte_timeout_ms = 0, idle_timeout_ms = 0,
          total_timeout_ms = 0;
  int64_t max_retries = -1;
  std::string ca_file;

  bool operator==(const ProviderInfo&) const = default;
};

struct ModelInfo {
  std::string id;
  std::string provider;
  std::string upstream;  // the model name the provider's API wants
  Price input, cached_input, output;
  int64_t context_window = 0;  // 0: unknown (no context check possible)
  int64_t max_output = 0;      // 0: unknown
  dsl::Labels labels;          // model labels over its provider's labels
  std::map<std::string, double, std::less<>> quality_prior;  // task -> expected score

  bool priced() const { return input.known() && output.known(); }
  // Cached input falls back to the uncached price when the catalog has none:
  // charging more is safe, charging less is not.
  Price cached_or_input() const { return cached_input.known() ? cached_input : input; }
};

class Catalog {
 public:
  // The catalog compiled into the library (engine/routing/default_catalog.json).
  static Result<Catalog> builtin();
  static Result<Catalog> from_file(const std::string& path);
  // `origin` names the source in error messages.
  static Result<Catalog> parse(std::string_view json_text, std::string_view origin);

  const ModelInfo* find_model(std::string_view id) const;
  const ProviderInfo* find_provider(std::string_view name) const;
  const std::vector<ModelInfo>& models() const { return models_; }
  const std::vector<ProviderInfo>& providers() const { return providers_; }

  // Applies a policy's declarations (new providers and models, overrides).
  // Fails with `file:line:` when a declaration is inconsistent, e.g. a model
  // on a provider nobody declared.
  Result<void> apply(const std::vector<dsl::ProviderDecl>& providers,
                     const std::vector<dsl::ModelDecl>& models);

  // Effective labels of a model: its provider's, overridden by its own.
  dsl::Labels labels_of(const ModelInfo& model) const;

 private:
  ModelInfo& model_slot(const std::string& id);
  ProviderInfo& provider_slot(const std::string& name);

  std::vector<ModelInfo> models_;
  std::vector<ProviderInfo> providers_;
  std::map<std::string, size_t, std::less<>> model_index_, provider_index_;
};

}  // namespace tollgate::engine
