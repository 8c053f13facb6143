// `tollgate simulate`: the replay's result for a person (aligned tables,
// dollar figures) or a machine (--format json).
#pragma once

#include <ostream>

#include <nlohmann/json_fwd.hpp>

#include "tools/simulate_run.hpp"

namespace tollgate::tools {

void print_simulation(const SimulationResult& r, std::ostream& out);
nlohmann::json simulation_json(const SimulationResult& r);

}  // namespace tollgate::tools
