// The `tollgate` subcommands. Each takes its arguments (after the
// subcommand name) and returns the process exit code: 0 success, 1 the
// thing checked is wrong (a failing policy or test), 2 usage or I/O error.
#pragma once

#include <string>
#include <vector>

namespace tollgate::tools {

using Args = std::vector<std::string>;

int cmd_demo(const Args& args);
int cmd_check(const Args& args);
int cmd_explain(const Args& args);
int cmd_test(const Args& args);
int cmd_report(const Args& args);
int cmd_serve(const Args& args);
int cmd_simulate(const Args& args);

// Shared by subcommands: `--name value` or `--name=value`; removes what it
// took from `args`. Returns false if the flag is absent.
bool take_flag(Args& args, const std::string& name, std::string& value);
bool take_switch(Args& args, const std::string& name);

}  // namespace tollgate::tools
