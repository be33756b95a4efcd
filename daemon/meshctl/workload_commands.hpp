#pragma once
// `meshctl enroll`, `meshctl unenroll`, `meshctl workloads`, `meshctl capture upgrade`:
// transparent capture of workloads through the daemon's admin API. An enrollment made while
// meshd is down is queued in the pending directory and applied when meshd starts.
#include <CLI/CLI.hpp>

#include "daemon/meshctl/status_commands.hpp"

namespace mesh::meshctl {

void add_workload_commands(CLI::App& root, GlobalOptions& global);

}  // namespace mesh::meshctl
