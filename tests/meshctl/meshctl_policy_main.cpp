// A test-only meshctl: just the policy commands, wired the way meshctl's main() wires them.
#include <CLI/CLI.hpp>

#include "daemon/meshctl/policy_commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"meshctl (policy commands only, for tests)"};
  app.require_subcommand(1);
  mesh::meshctl::add_policy_commands(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
