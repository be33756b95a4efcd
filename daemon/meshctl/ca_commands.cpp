#include "daemon/meshctl/ca_commands.hpp"

#include <cstdio>
#include <memory>
#include <string>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "daemon/base/clock.hpp"
#include "daemon/base/strings.hpp"
#include "daemon/identity/cert_files.hpp"
#include "tunnel/tls/certificate_authority.hpp"
#include "tunnel/tls/spiffe_id.hpp"

namespace mesh::meshctl {
namespace {

struct InitArgs {
  std::string dir;
  std::string trust_domain = "cluster.local";
  std::string validity = "8760h";
  bool force = false;
};

struct IssueArgs {
  std::string ca_dir;
  std::string identity;
  std::string out;
  std::string validity = "24h";
};

[[noreturn]] void die(const std::string& message) {
  fmt::print(stderr, "meshctl: {}\n", message);
  throw CLI::RuntimeError(1);
}

base::Duration duration_or_die(const std::string& text, const char* what) {
  auto d = base::parse_duration(text);
  if (!d || *d <= base::Duration::zero()) die(fmt::format("invalid {} '{}': a positive duration like 24h", what, text));
  return *d;
}

std::string utc(base::WallTime t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", std::chrono::time_point_cast<std::chrono::seconds>(t));
}

void run_init(const InitArgs& a) {
  base::Duration validity = duration_or_die(a.validity, "--validity");
  auto ca = tunnel::CertificateAuthority::create_root(a.trust_domain, base::SystemClock::instance().wall(), validity);
  if (!ca) die(fmt::format("failed to create CA: {}", ca.error().message()));
  if (auto st = identity::save_ca(a.dir, *ca, a.force); !st) {
    die(fmt::format("failed to write CA '{}': {}", a.dir, st.error().message()));
  }
  fmt::print("created root CA for trust domain '{}' in {} (valid until {})\n", ca->trust_domain(), a.dir,
             utc(ca->not_after()));
}

void run_issue(const IssueArgs& a) {
  base::Duration validity = duration_or_die(a.validity, "--validity");
  auto id = tunnel::SpiffeId::parse(a.identity);
  if (!id) die(id.error().message());
  auto ca = identity::load_ca(a.ca_dir);
  if (!ca) die(fmt::format("failed to load CA: {}", ca.error().message()));
  auto issued = ca->issue(*id, base::SystemClock::instance().wall(), validity);
  if (!issued) die(fmt::format("failed to issue '{}': {}", id->str(), issued.error().message()));
  if (auto st = identity::save_issued(a.out, *issued); !st) {
    die(fmt::format("failed to write '{}': {}", a.out, st.error().message()));
  }
  fmt::print("issued {} in {} (valid until {})\n", id->str(), a.out, utc(issued->not_after));
}

}  // namespace

void add_ca_commands(CLI::App& root) {
  CLI::App* ca = root.add_subcommand("ca", "built-in certificate authority");
  ca->require_subcommand(1);

  auto init = std::make_shared<InitArgs>();
  CLI::App* init_cmd = ca->add_subcommand("init", "create a root CA (ECDSA P-256)");
  init_cmd->add_option("--dir", init->dir, "directory for ca-key.pem, ca-cert.pem, root-cert.pem")->required();
  init_cmd->add_option("--trust-domain", init->trust_domain, "SPIFFE trust domain")->capture_default_str();
  init_cmd->add_option("--validity", init->validity, "lifetime of the root certificate")->capture_default_str();
  init_cmd->add_flag("--force", init->force, "replace an existing CA key");
  init_cmd->callback([init] { run_init(*init); });

  auto issue = std::make_shared<IssueArgs>();
  CLI::App* issue_cmd = ca->add_subcommand("issue", "issue a leaf certificate for one SPIFFE identity");
  issue_cmd->add_option("--ca-dir", issue->ca_dir, "CA directory (from `ca init`)")->required();
  issue_cmd->add_option("--identity", issue->identity, "spiffe://<td>/ns/<ns>/sa/<sa>")->required();
  issue_cmd->add_option("--out", issue->out, "directory for cert-chain.pem, key.pem, root-cert.pem")->required();
  issue_cmd->add_option("--validity", issue->validity, "lifetime of the leaf certificate")->capture_default_str();
  issue_cmd->callback([issue] { run_issue(*issue); });
}

}  // namespace mesh::meshctl
