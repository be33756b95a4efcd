// meshctl: the command-line companion of meshd. Talks to the daemon's admin socket
// (HTTP/1.1 + JSON); some commands (policy validation, the CA) work offline.
#include <CLI/CLI.hpp>

#include "daemon/meshctl/ca_commands.hpp"
#include "daemon/meshctl/policy_commands.hpp"
#include "daemon/meshctl/policy_live.hpp"
#include "daemon/meshctl/status_commands.hpp"
#include "daemon/meshctl/workload_commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"meshctl: inspect and operate the meshd node daemon"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand: meshctl status -o json
  mesh::meshctl::GlobalOptions global;
  app.add_option("--socket", global.socket, "admin socket of meshd (default: $MESHD_ADMIN_SOCKET or /run/meshd/admin.sock)");
  app.add_option("-o,--output", global.output, "output format")->check(CLI::IsMember({"table", "json"}));
  mesh::meshctl::add_status_commands(app, global);
  mesh::meshctl::add_workload_commands(app, global);
  mesh::meshctl::add_ca_commands(app);
  auto* policy_cmd = mesh::meshctl::add_policy_commands(app, mesh::meshctl::live_explain(global));
  mesh::meshctl::add_policy_show(*policy_cmd, global);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
