// Provider adapters by name, built on first use from the policy set's
// provider table and the engine's options (keys, base URL overrides), and
// rebuilt when a reload changes a provider's configuration. Connection
// pools live in the adapters, so keeping them across requests and reloads
// is what keeps connections warm.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "adapters/providers/provider.hpp"
#include "engine/routing/catalog.hpp"
#include "tollgate/error.hpp"
#include "tollgate/options.hpp"

namespace tollgate::engine {

class ProviderRegistry {
 public:
  ProviderRegistry(boost::asio::any_io_executor executor, const Options& options);

  // The adapter for `info`. Errors (category config) say what to fix: an
  // unknown base URL, a missing key, an unreadable CA file. Thread-safe.
  Result<std::shared_ptr<adapters::Provider>> get(const ProviderInfo& info);

 private:
  struct Entry {
    std::string fingerprint;  // the configuration it was built from (no key)
    ProviderInfo source;      // the declaration it was built for: unchanged, reuse it as is
    std::shared_ptr<adapters::Provider> provider;
  };
  Result<adapters::ProviderConfig> config_for(const ProviderInfo& info, std::string& fingerprint) const;

  boost::asio::any_io_executor executor_;
  std::map<std::string, std::string> keys_, base_urls_;
  std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace tollgate::engine
