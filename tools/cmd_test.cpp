// tollgate test PATH... — run policy tests (*_test.lua) against the policy
// each one names, with staged quality, health and spend.
#include <iostream>

#include "dsl/policy_test_runner.hpp"
#include "engine/engine_impl.hpp"
#include "engine/signals/static_signals.hpp"
#include "tools/commands.hpp"

namespace tollgate::tools {
namespace {

class EngineTestHost final : public dsl::PolicyTestHost {
 public:
  explicit EngineTestHost(std::string catalog) : catalog_(std::move(catalog)) {}

  Result<void> load(const std::vector<std::string>& paths) override {
    Options opts;
    opts.catalog_path = catalog_;
    opts.policy_paths = paths;
    auto e = Engine::create(opts);
    if (!e.ok()) return e.error();
    engine_.reset(static_cast<engine::EngineImpl*>(e->release()));
    engine_->set_signals(signals_);
    return {};
  }
  Result<Decision> decide(const Request& r) override { return engine_->decide(r); }
  void reset_signals() override { signals_->clear(); }
  void set_quality(const std::string& model, const std::string& task, double mean, int64_t count) override {
    signals_->set_quality(model, task, dsl::QualityStats{mean, count, 0, 0, 0});
  }
  void set_healthy(const std::string& model, bool healthy) override { signals_->set_healthy(model, healthy); }
  void set_spend(const std::string& team, const std::string& window, double spent, double cap) override {
    signals_->set_spend(team, window,
                        dsl::SpendStats{Money::from_usd(spent).nanos, 0, cap < 0 ? -1 : Money::from_usd(cap).nanos});
  }

 private:
  std::string catalog_;
  std::unique_ptr<engine::EngineImpl> engine_;
  std::shared_ptr<engine::StaticSignals> signals_ = std::make_shared<engine::StaticSignals>();
};

}  // namespace

int cmd_test(const PathsArgs& args) {
  auto files = dsl::find_policy_tests(args.paths);
  if (!files.ok()) return std::cerr << files.error().message() << "\n", 2;
  int passed = 0, failed = 0;
  for (const auto& f : *files) {
    EngineTestHost host(args.catalog);
    auto r = dsl::run_policy_test_file(f, host, std::cout);
    passed += r.passed;
    failed += r.failed;
  }
  std::cout << "\n" << passed << " passed, " << failed << " failed\n";
  return failed ? 1 : 0;
}

}  // namespace tollgate::tools
