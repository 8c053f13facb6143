// Embedding tollgate: build one Engine, ask it where each request goes.
//   embed_example POLICY.lua
#include <cstdio>

#include <tollgate/engine.hpp>

int main(int argc, char** argv) {
  if (argc < 2) return std::fprintf(stderr, "usage: %s POLICY.lua\n", argv[0]), 2;
  tollgate::Options options;
  options.policy_paths = {argv[1]};
  auto engine = tollgate::Engine::create(options);
  if (!engine.ok()) return std::fprintf(stderr, "%s\n", engine.error().what()), 1;

  tollgate::Request request;
  request.team = "support";
  request.tags = {{"task", "code"}};
  request.body["messages"] = {{{"role", "user"}, {"content", "Why does this loop never end?"}}};
  request.max_tokens = 400;

  auto decision = (*engine)->decide(request);
  if (!decision.ok()) return std::fprintf(stderr, "%s\n", decision.error().what()), 1;
  std::printf("route %s, first choice %s (worst case %s)\n", std::string(decision->route).c_str(),
              std::string(decision->candidates.at(0).model).c_str(), decision->candidates.at(0).est_cost.str().c_str());
  return 0;
}
