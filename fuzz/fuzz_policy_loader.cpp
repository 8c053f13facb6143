// The policy loader on arbitrary Lua source: every input must end in a
// loaded policy or a `policy` error, within the sandbox's instruction and
// memory limits — never a crash, and never a hang (libFuzzer's -timeout
// turns one into a failure).
//
// The limits are smaller than the defaults so that the loops the fuzzer
// writes end quickly and it keeps its speed; the code paths are the same.
// Invariant: loading is deterministic (same outcome, same declarations).
#include "dsl/policy_loader.hpp"
#include "fuzz/fuzz_check.hpp"

namespace dsl = tollgate::dsl;

namespace {

tollgate::Result<dsl::LoadedPolicy> load(std::string_view text) {
  dsl::SandboxLimits limits;
  limits.instruction_budget = 20'000;   // 2M instructions while loading
  limits.memory_limit_bytes = 1 << 20;  // 8 MiB while loading
  return dsl::load_policy({dsl::PolicySource{"fuzz.lua", std::string(text)}}, limits);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view text = tollgate::fuzz::as_text(data, size);
  auto first = load(text);
  if (!first.ok()) {
    FUZZ_CHECK(first.error().category() == tollgate::ErrorCategory::policy);
    FUZZ_CHECK(!first.error().message().empty());
  } else {
    const dsl::PolicyDecls& d = first->decls;
    FUZZ_CHECK(!d.routes.empty());  // validate() refuses a policy without one
    FUZZ_CHECK(first->program && first->program->function_count == d.function_count);
    for (const auto& r : d.routes) FUZZ_CHECK(!r.try_models.empty() || r.select_fn >= 0);
  }
  auto second = load(text);
  FUZZ_CHECK(second.ok() == first.ok());
  if (first.ok()) {
    FUZZ_CHECK(second->decls.routes.size() == first->decls.routes.size());
    FUZZ_CHECK(second->decls.models.size() == first->decls.models.size());
    FUZZ_CHECK(second->decls.function_count == first->decls.function_count);
  }
  return 0;
}
