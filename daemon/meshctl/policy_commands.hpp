#pragma once
// `meshctl policy validate PATH...` and `meshctl policy explain --policy-dir DIR ...`: the
// offline policy commands. They read policy files with the same codec and compiler as the
// daemon, so a set that validates here loads there (given the same trust domain, cluster
// domain and root namespace). A subcommand reports a non-zero exit code by throwing
// CLI::RuntimeError(code); meshctl's main() turns that into the process exit code.
// Without --policy-dir, explain asks the running daemon through `live` (meshctl's admin client).
#include <functional>
#include <iosfwd>
#include <string>

#include "policy/explain.hpp"

namespace CLI {
class App;
}

namespace mesh::meshctl {

// How `policy explain` without --policy-dir asks the running daemon (query, output format).
using LiveExplain = std::function<void(const policy::ExplainQuery& query, const std::string& output)>;

// Adds the `policy` subcommand (with validate and explain) to meshctl's root App, printing to
// std::cout and std::cerr; returns it so that more subcommands can be added.
CLI::App* add_policy_commands(CLI::App& root, LiveExplain live = nullptr);
// The same, printing to the given streams (tests); they must outlive `root`.
CLI::App* add_policy_commands(CLI::App& root, std::ostream& out, std::ostream& err, LiveExplain live = nullptr);

}  // namespace mesh::meshctl
