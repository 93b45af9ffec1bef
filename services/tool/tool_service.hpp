// The `tool` service kind: a simulated command-line tool (`devctl`) that the
// learner drives with subprocess. The Session puts the command on the
// program's PATH (a link to the wirelab binary in the run directory); each
// run of it asks this service over a unix socket what to print and how to
// exit, reports how far it got, and becomes an `invocations` row.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "runtime/service.hpp"

namespace wirelab::tool {

std::unique_ptr<Service> make_tool_service(ServiceContext& ctx);

/// The tool's side, run by `wirelab tool NAME ARGS…` or by the wirelab
/// binary called under the tool's name. Returns the exit status.
int run_tool(const std::string& name, const std::vector<std::string>& args);

/// The variable naming the tool's socket: WIRELAB_TOOL_<NAME>.
std::string tool_env_var(const std::string& name);

}  // namespace wirelab::tool
