#pragma once
// The live side of `meshctl policy`: `policy show` (the daemon's running policy set: files,
// version, counts, last reload) and `policy explain` without --policy-dir (answered by the
// daemon from its running snapshot), over the admin socket.
#include <CLI/CLI.hpp>

#include "daemon/meshctl/policy_commands.hpp"
#include "daemon/meshctl/status_commands.hpp"

namespace mesh::meshctl {

// The LiveExplain for add_policy_commands().
LiveExplain live_explain(GlobalOptions& global);
// Adds `show` to the `policy` subcommand.
void add_policy_show(CLI::App& policy_cmd, GlobalOptions& global);

}  // namespace mesh::meshctl
