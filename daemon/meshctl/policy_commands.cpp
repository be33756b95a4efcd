#include "daemon/meshctl/policy_commands.hpp"

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "policy/explain.hpp"
#include "policy/toml/codec.hpp"

namespace mesh::meshctl {
namespace {

struct CompileFlags {
  policy::CompileOptions options;

  void add(CLI::App& cmd) {
    cmd.add_option("--trust-domain", options.trust_domain, "trust domain of SPIFFE identities")->capture_default_str();
    cmd.add_option("--cluster-domain", options.cluster_domain, "DNS suffix of service hosts")->capture_default_str();
    cmd.add_option("--root-namespace", options.root_namespace, "namespace of mesh-wide policies")->capture_default_str();
  }
};

// Loads and compiles; prints every error to `err` and returns null when there is one.
policy::PolicySnapshot load(const std::vector<std::string>& paths, const policy::CompileOptions& options,
                            std::ostream& err) {
  policy::CompileResult result = policy::load_policy(paths, options);
  for (const auto& d : result.errors) err << d.to_string() << '\n';
  return result.policy;
}

std::string summary(const policy::CompiledPolicy& p) {
  const auto& s = p.source();
  auto n = [](size_t count, std::string_view one, std::string_view many) {
    return fmt::format("{} {}", count, count == 1 ? one : many);
  };
  return fmt::format("ok: {}, {}, {}, {}, {}, {}, {}, {}, {} (version {})", n(s.files.size(), "file", "files"),
                     n(s.workloads.size(), "workload", "workloads"), n(s.services.size(), "service", "services"),
                     n(s.routes.size(), "route", "routes"), n(s.destinations.size(), "destination", "destinations"),
                     n(s.authorizations.size(), "authorization", "authorizations"),
                     n(s.peer_authentications.size(), "peer authentication", "peer authentications"),
                     n(s.externals.size(), "external", "externals"), n(s.gateways.size(), "gateway", "gateways"),
                     p.version());
}

void add_validate(CLI::App& policy_cmd, std::ostream& out, std::ostream& err) {
  auto* cmd = policy_cmd.add_subcommand("validate", "check policy files offline; exit 1 and list every error");
  auto paths = std::make_shared<std::vector<std::string>>();
  auto flags = std::make_shared<CompileFlags>();
  cmd->add_option("paths", *paths, "policy files, or directories of *.toml files")->required();
  flags->add(*cmd);
  cmd->callback([paths, flags, &out, &err] {
    policy::PolicySnapshot p = load(*paths, flags->options, err);
    if (!p) throw CLI::RuntimeError(1);
    out << summary(*p) << '\n';
  });
}

void add_explain(CLI::App& policy_cmd, std::ostream& out, std::ostream& err, LiveExplain live) {
  auto* cmd = policy_cmd.add_subcommand(
      "explain", "what happens to a connection or request from a source to a destination, and which rules decide it");
  struct Args {
    std::string dir;
    policy::ExplainQuery query;
    std::vector<std::string> headers;
    std::string output = "text";
    CompileFlags flags;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--policy-dir", args->dir,
                  "directory (or file) of policy to evaluate offline; without it, the running daemon's policy");
  cmd->add_option("--from", args->query.from, "source: SPIFFE ID, workload (namespace/name) or IP address")->required();
  cmd->add_option("--to", args->query.to, "destination host:port (service host, workload or IP)")->required();
  cmd->add_option("--gateway", args->query.gateway, "the request enters through this gateway (namespace/name)");
  cmd->add_option("--method", args->query.method, "HTTP method (makes it an HTTP request)");
  cmd->add_option("--path", args->query.path, "HTTP path, with the query string");
  cmd->add_option("--header", args->headers, "HTTP header name=value (repeatable)");
  cmd->add_option("-o,--output", args->output, "text or json")->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  args->flags.add(*cmd);
  cmd->callback([args, &out, &err, live] {
    for (const auto& h : args->headers) {
      size_t eq = h.find('=');
      if (eq == std::string::npos || eq == 0) {
        err << fmt::format("--header '{}': expected name=value\n", h);
        throw CLI::RuntimeError(1);
      }
      args->query.headers.emplace_back(h.substr(0, eq), h.substr(eq + 1));
    }
    if (args->dir.empty()) {
      if (!live) {
        err << "--policy-dir is required\n";
        throw CLI::RuntimeError(1);
      }
      return live(args->query, args->output);
    }
    policy::PolicySnapshot p = load({args->dir}, args->flags.options, err);
    if (!p) throw CLI::RuntimeError(1);
    auto e = policy::explain(*p, args->query);
    if (!e) {
      err << e.error().message() << '\n';
      throw CLI::RuntimeError(1);
    }
    out << (args->output == "json" ? policy::to_json(*p, *e) + "\n" : policy::to_text(*p, *e));
  });
}

}  // namespace

CLI::App* add_policy_commands(CLI::App& root, std::ostream& out, std::ostream& err, LiveExplain live) {
  auto* policy_cmd = root.add_subcommand("policy", "mesh policy: validate files, explain decisions, show the running set");
  policy_cmd->require_subcommand(1);
  add_validate(*policy_cmd, out, err);
  add_explain(*policy_cmd, out, err, std::move(live));
  return policy_cmd;
}

CLI::App* add_policy_commands(CLI::App& root, LiveExplain live) {
  return add_policy_commands(root, std::cout, std::cerr, std::move(live));
}

}  // namespace mesh::meshctl
