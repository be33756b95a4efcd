// meshctl's `ca` commands, run through a CLI::App exactly as meshctl's main() would.
#include "daemon/meshctl/ca_commands.hpp"

#include <sys/stat.h>

#include <doctest/doctest.h>

#include <vector>

#include "daemon/identity/cert_files.hpp"
#include "tests/support/tls_temp_dir.hpp"
#include "tunnel/tls/credentials.hpp"

using namespace mesh;
using mesh::testing::TempDir;

namespace {

// Runs `meshctl <args>` and returns its exit code.
int run_meshctl(std::vector<std::string> args) {
  CLI::App app("meshctl");
  app.require_subcommand(1);
  meshctl::add_ca_commands(app);
  std::vector<const char*> argv = {"meshctl"};
  for (const auto& a : args) argv.push_back(a.c_str());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}

mode_t mode_of(const std::string& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

}  // namespace

TEST_CASE("ca init writes a root CA with a private key only its owner can read") {
  TempDir tmp;
  std::string dir = tmp.sub("ca");
  REQUIRE(run_meshctl({"ca", "init", "--dir", dir, "--trust-domain", "example.org", "--validity", "720h"}) == 0);
  CHECK(mode_of(dir + "/ca-key.pem") == 0600);
  auto ca = identity::load_ca(dir);
  REQUIRE(ca.has_value());
  CHECK(ca->trust_domain() == "example.org");
  auto lifetime = ca->not_after() - ca->not_before();
  CHECK(lifetime == std::chrono::duration_cast<base::WallTime::duration>(std::chrono::hours(720) + std::chrono::minutes(5)));
}

TEST_CASE("ca init refuses to replace an existing CA without --force") {
  TempDir tmp;
  REQUIRE(run_meshctl({"ca", "init", "--dir", tmp.path()}) == 0);
  auto first = identity::load_ca(tmp.path())->cert_pem();
  CHECK(run_meshctl({"ca", "init", "--dir", tmp.path()}) == 1);
  CHECK(identity::load_ca(tmp.path())->cert_pem() == first);
  CHECK(run_meshctl({"ca", "init", "--dir", tmp.path(), "--force"}) == 0);
  CHECK(identity::load_ca(tmp.path())->cert_pem() != first);
}

TEST_CASE("ca issue writes a PEM directory the daemon can load as that identity") {
  TempDir tmp;
  REQUIRE(run_meshctl({"ca", "init", "--dir", tmp.sub("ca")}) == 0);
  REQUIRE(run_meshctl({"ca", "issue", "--ca-dir", tmp.sub("ca"), "--identity",
                   "spiffe://cluster.local/ns/shop/sa/cart", "--out", tmp.sub("cart"), "--validity", "2h"}) == 0);
  CHECK(mode_of(tmp.sub("cart/key.pem")) == 0600);
  auto creds = identity::load_credentials(tmp.sub("cart"), base::SystemClock::instance().wall());
  REQUIRE_MESSAGE(creds.has_value(), (creds ? "" : creds.error().message()));
  CHECK(creds->identity().str() == "spiffe://cluster.local/ns/shop/sa/cart");
  CHECK(creds->not_after() - creds->not_before() ==
        std::chrono::duration_cast<base::WallTime::duration>(std::chrono::hours(2) + std::chrono::minutes(5)));
}

TEST_CASE("ca commands fail with exit code 1 on bad input") {
  TempDir tmp;
  REQUIRE(run_meshctl({"ca", "init", "--dir", tmp.sub("ca")}) == 0);
  auto issue = [&](std::string identity, std::string validity = "24h", std::string ca_dir = "") {
    return run_meshctl({"ca", "issue", "--ca-dir", ca_dir.empty() ? tmp.sub("ca") : ca_dir, "--identity", identity,
                    "--out", tmp.sub("out"), "--validity", validity});
  };
  CHECK(issue("not-a-spiffe-id") == 1);
  CHECK(issue("spiffe://other.domain/ns/a/sa/b") == 1);  // not the CA's trust domain
  CHECK(issue("spiffe://cluster.local/ns/a/sa/b", "soon") == 1);
  CHECK(issue("spiffe://cluster.local/ns/a/sa/b", "24h", tmp.sub("missing")) == 1);
  CHECK(run_meshctl({"ca", "init", "--dir", tmp.sub("x"), "--trust-domain", "Bad Domain"}) == 1);
  CHECK(run_meshctl({"ca", "issue", "--identity", "spiffe://cluster.local/ns/a/sa/b"}) != 0);  // missing options
  CHECK_FALSE(std::filesystem::exists(tmp.sub("out")));
}
