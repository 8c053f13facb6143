#include "engine/dispatch/provider_registry.hpp"

#include <cstdlib>

namespace tollgate::engine {

ProviderRegistry::ProviderRegistry(boost::asio::any_io_executor executor, const Options& options)
    : executor_(std::move(executor)), keys_(options.api_keys), base_urls_(options.base_url_overrides) {}

Result<adapters::ProviderConfig> ProviderRegistry::config_for(const ProviderInfo& info,
                                                              std::string& fingerprint) const {
  adapters::ProviderConfig c;
  c.name = info.name;
  c.api = info.api == ApiKind::anthropic ? adapters::ApiKind::anthropic : adapters::ApiKind::openai;
  c.base_url = info.base_url;
  bool overridden = false;
  for (const std::string& key : {info.name, std::string("*")}) {
    if (auto it = base_urls_.find(key); it != base_urls_.end()) {
      c.base_url = it->second;
      overridden = true;
      break;
    }
  }
  if (c.base_url.empty())
    return Error(ErrorCategory::config, "provider '" + info.name +
                                            "' has no base_url; declare provider \"" + info.name +
                                            "\" { base_url = \"https://...\" } in the policy");
  // The key: given by the embedder, else the provider's environment
  // variable. A provider redirected to a local endpoint may go without.
  if (auto it = keys_.find(info.name); it != keys_.end()) {
    c.api_key = it->second;
  } else if (!info.key_env.empty()) {
    if (const char* v = std::getenv(info.key_env.c_str()); v && *v) c.api_key = v;
    else if (!overridden)
      return Error(ErrorCategory::config, "provider '" + info.name + "' needs an API key: set " +
                                              info.key_env + " or pass Options::api_keys[\"" +
                                              info.name + "\"]");
  }
  for (const auto& [k, v] : info.headers) c.headers.emplace_back(k, v);
  auto ms = [](int64_t v, std::chrono::milliseconds dflt) {
    return v > 0 ? std::chrono::milliseconds(v) : dflt;
  };
  auto& conn = c.connection;
  if (info.pool_size > 0) conn.pool_size = static_cast<std::size_t>(info.pool_size);
  conn.connect_timeout = ms(info.connect_timeout_ms, conn.connect_timeout);
  conn.first_byte_timeout = ms(info.first_byte_timeout_ms, conn.first_byte_timeout);
  conn.idle_timeout = ms(info.idle_timeout_ms, conn.idle_timeout);
  conn.total_timeout = ms(info.total_timeout_ms, conn.total_timeout);
  conn.ca_file = info.ca_file;
  // Everything that shapes the adapter, so a reload rebuilds it only when
  // something changed. The key is left out on purpose.
  fingerprint = std::string(to_string(info.api)) + "|" + c.base_url + "|" + info.key_env + "|" +
                std::to_string(conn.pool_size) + "|" + std::to_string(conn.connect_timeout.count()) + "|" +
                std::to_string(conn.first_byte_timeout.count()) + "|" +
                std::to_string(conn.idle_timeout.count()) + "|" + std::to_string(conn.total_timeout.count()) +
                "|" + conn.ca_file;
  for (const auto& [k, v] : c.headers) fingerprint += "|" + k + "=" + v;
  return c;
}

Result<std::shared_ptr<adapters::Provider>> ProviderRegistry::get(const ProviderInfo& info) {
  // Every request asks; nearly always for a provider built from this very
  // declaration. Comparing it is cheaper than building its configuration
  // (strings, a getenv, the fingerprint) again.
  {
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(info.name); it != entries_.end() && it->second.source == info)
      return it->second.provider;
  }
  std::string fingerprint;
  auto config = config_for(info, fingerprint);
  if (!config.ok()) return config.error();
  std::lock_guard lock(mu_);
  auto it = entries_.find(info.name);
  if (it != entries_.end() && it->second.fingerprint == fingerprint) {
    it->second.source = info;  // changed only where the adapter does not look (labels, say)
    return it->second.provider;
  }
  auto made = adapters::make_provider(executor_, std::move(*config));
  if (!made) return Error(ErrorCategory::config, made.error());  // it names the provider
  entries_[info.name] = Entry{fingerprint, info, *made};
  return *made;
}

}  // namespace tollgate::engine
