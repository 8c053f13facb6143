// tollgate report — the bill from the ledger (engine/ledger/report.cpp does the work).
#include <iostream>

#include "engine/ledger/report.hpp"
#include "tools/commands.hpp"

namespace tollgate::tools {

int cmd_report(const ReportArgs& args) { return engine::run_report(args.options, args.since, std::cout, std::cerr); }

}  // namespace tollgate::tools
