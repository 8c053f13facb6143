// Building engines from policy text in tests.
#pragma once

#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "engine/engine_impl.hpp"
#include "engine/signals/static_signals.hpp"
#include "test_support.hpp"

namespace tollgate::testing {

// An engine over one policy file written into `dir`; the signals it reads
// are `signals` (quality, health, spend staged by the test).
struct TestEngine {
  TempDir dir;
  std::shared_ptr<engine::StaticSignals> signals = std::make_shared<engine::StaticSignals>();
  std::unique_ptr<engine::EngineImpl> engine;

  explicit TestEngine(const std::string& policy, Options opts = {}) {
    opts.policy_paths = {dir.write("policy.lua", policy)};
    auto e = Engine::create(opts);
    if (!e.ok()) FAIL(e.error().what());
    engine.reset(static_cast<engine::EngineImpl*>(e->release()));
    engine->set_signals(signals);
  }
  Engine* operator->() const { return engine.get(); }
};

// Result<Engine> for a policy that is expected to fail to load.
inline Error load_error(const std::string& policy) {
  TempDir dir;
  Options opts;
  opts.policy_paths = {dir.write("policy.lua", policy)};
  auto e = Engine::create(opts);
  if (e.ok()) FAIL("the policy loaded, but an error was expected");
  return e.error();
}

inline Request chat(std::string team, std::string text, std::map<std::string, std::string, std::less<>> tags = {}) {
  Request r;
  r.team = std::move(team);
  r.tags = std::move(tags);
  r.body["messages"] = nlohmann::json::array({{{"role", "user"}, {"content", std::move(text)}}});
  return r;
}

inline std::vector<std::string> models_of(const Decision& d) {
  std::vector<std::string> out;
  for (const auto& c : d.candidates) out.emplace_back(c.model);
  return out;
}

}  // namespace tollgate::testing
