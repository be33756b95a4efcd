// meshctl policy validate / explain, run in-process through CLI11 as meshctl's main() runs
// them.
#include "daemon/meshctl/policy_commands.hpp"

#include <sstream>

#include <CLI/CLI.hpp>
#include <doctest/doctest.h>

namespace {

const std::string kRoot = MESH_SOURCE_ROOT;

struct Run {
  int code = 0;
  std::string out, err;
};

Run meshctl(std::vector<std::string> args) {
  std::ostringstream out, err;
  CLI::App app{"meshctl"};
  app.require_subcommand(1);
  mesh::meshctl::add_policy_commands(app, out, err);
  std::vector<const char*> argv{"meshctl"};
  for (const auto& a : args) argv.push_back(a.c_str());
  Run r;
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    r.code = app.exit(e, out, err);
  }
  r.out = out.str();
  r.err = err.str();
  return r;
}

}  // namespace

TEST_CASE("validate prints a one-line summary and exits 0 for a valid set") {
  Run r = meshctl({"policy", "validate", kRoot + "/examples/canary.toml", kRoot + "/examples/telemetry.toml"});
  CHECK(r.code == 0);
  CHECK(r.err.empty());
  CHECK(r.out.starts_with("ok: 2 files, 3 workloads, 1 service, 1 route, 1 destination, 0 authorizations, 0 peer "
                          "authentications, 0 externals, 0 gateways (version "));
}

TEST_CASE("validate prints every error as file:line:col and exits 1") {
  const std::string f = kRoot + "/tests/policy/broken/weights.toml";
  Run r = meshctl({"policy", "validate", f});
  CHECK(r.code == 1);
  CHECK(r.out.empty());
  CHECK(r.err == f + ":22:1: route rule: destination weights sum to 110; they must sum to 100\n" + f +
                     ":25:32: route destination: unknown subset 'v2' of host 'reviews.default.svc.cluster.local' "
                     "(destination 'default/reviews' at " + f + ":13:1); did you mean 'v1'?\n");
}

TEST_CASE("the mesh facts are flags: the trust domain changes who a principal names") {
  const std::string f = kRoot + "/examples/allow-by-principal.toml";
  std::vector<std::string> args{"policy", "explain", "--policy-dir", f, "--from", "default/api-gateway", "--to",
                                "user-service:8080", "--method", "GET", "--path", "/api/users/7"};
  CHECK(meshctl(args).out.ends_with("decision     allow\n"));
  args.insert(args.end(), {"--trust-domain", "example.org"});
  Run r = meshctl(args);
  CHECK(r.out.find("spiffe://example.org/ns/default/sa/api-gateway") != std::string::npos);
  CHECK(r.out.ends_with("decision     deny\n"));
  Run usage = meshctl({"policy", "validate"});
  CHECK(usage.code != 0);
  CHECK(usage.err.find("paths is required") != std::string::npos);
}

TEST_CASE("explain answers in text and JSON, naming the rules that decided") {
  const std::string f = kRoot + "/examples/allow-by-principal.toml";
  Run text = meshctl({"policy", "explain", "--policy-dir", f, "--from", "default/api-gateway", "--to", "user-service:8080",
                      "--method", "GET", "--path", "/api/users/7"});
  CHECK(text.code == 0);
  CHECK(text.out.find("ALLOW authorization 'default/user-service-policy'") != std::string::npos);
  CHECK(text.out.ends_with("decision     allow\n"));
  Run json = meshctl({"policy", "explain", "--policy-dir", f, "--from", "spiffe://cluster.local/ns/other/sa/x", "--to",
                      "user-service.default:8080", "--method", "PUT", "--path", "/api/users/7", "-o", "json"});
  CHECK(json.code == 0);
  CHECK(json.out.find("\"decision\": \"deny\"") != std::string::npos);
  CHECK(json.out.find("\"authorization\": \"default/user-service-no-foreign-writes\"") != std::string::npos);
}

TEST_CASE("explain reports bad arguments and invalid policy with exit 1") {
  Run header = meshctl({"policy", "explain", "--policy-dir", kRoot + "/examples/canary.toml", "--from", "frontend",
                        "--to", "product-service:8080", "--header", "novalue"});
  CHECK(header.code == 1);
  CHECK(header.err == "--header 'novalue': expected name=value\n");
  Run unknown = meshctl({"policy", "explain", "--policy-dir", kRoot + "/examples/canary.toml", "--from", "frontend",
                         "--to", "nowhere:80"});
  CHECK(unknown.code == 1);
  CHECK(unknown.err == "--to: unknown destination host 'nowhere' in namespace 'default'\n");
  Run broken = meshctl({"policy", "explain", "--policy-dir", kRoot + "/tests/policy/broken/syntax.toml", "--from", "a",
                        "--to", "b:1"});
  CHECK(broken.code == 1);
  CHECK(broken.err.find("syntax.toml:3:23: ") != std::string::npos);
}
