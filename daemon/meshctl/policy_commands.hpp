#pragma once
// `meshctl policy validate PATH...` and `meshctl policy explain --policy-dir DIR ...`: the
// offline policy commands. They read policy files with the same codec and compiler as the
// daemon, so a set that validates here loads there (given the same trust domain, cluster
// domain and root namespace). A subcommand reports a non-zero exit code by throwing
// CLI::RuntimeError(code); meshctl's main() turns that into the process exit code.
// The live variants (against the running daemon) are added by meshctl's admin-API code.
#include <iosfwd>

namespace CLI {
class App;
}

namespace mesh::meshctl {

// Adds the `policy` subcommand (with validate and explain) to meshctl's root App, printing to
// std::cout and std::cerr.
void add_policy_commands(CLI::App& root);
// The same, printing to the given streams (tests); they must outlive `root`.
void add_policy_commands(CLI::App& root, std::ostream& out, std::ostream& err);

}  // namespace mesh::meshctl
