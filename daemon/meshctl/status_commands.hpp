#pragma once
// `meshctl status` and `meshctl version`: what the daemon is doing, from GET /v1/status.
#include <string>

#include <CLI/CLI.hpp>

namespace mesh::meshctl {

struct GlobalOptions {
  std::string socket;         // --socket (see admin_socket_path)
  std::string output = "table";  // --output table|json
};

void add_status_commands(CLI::App& root, GlobalOptions& global);

// Renders a /v1/status document as meshctl's human table. Exposed for tests.
std::string render_status(const std::string& status_json);

}  // namespace mesh::meshctl
