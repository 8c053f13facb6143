// The traffic `tollgate demo` sends: a deterministic mix of what a small
// company's services ask an LLM for in a morning, per team and feature.
#pragma once

#include <string>
#include <vector>

#include "tollgate/request.hpp"

namespace tollgate::tools {

struct DemoRequest {
  std::string feature;  // what the calling service was doing ("ticket triage")
  Request request;
};

// `n` requests, the same every run (a fixed seed).
std::vector<DemoRequest> demo_traffic(int n);

}  // namespace tollgate::tools
