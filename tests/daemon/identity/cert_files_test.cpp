#include "daemon/identity/cert_files.hpp"
#include "daemon/identity/pem_files.hpp"

#include <sys/stat.h>

#include <doctest/doctest.h>

#include "tests/support/tls_temp_dir.hpp"
#include "tests/support/tls_test_pki.hpp"

using namespace mesh;
using namespace std::chrono_literals;
using mesh::testing::TempDir;
using mesh::testing::TestPki;

namespace {
mode_t mode_of(const std::string& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777;
}
}  // namespace

TEST_CASE("an issued certificate saved to a directory loads back as the same identity") {
  TestPki pki;
  TempDir dir;
  auto issued = *pki.ca.issue(testing::sid("spiffe://cluster.local/ns/a/sa/b"), pki.clock.wall(), 24h);
  REQUIRE(identity::save_issued(dir.sub("w"), issued).has_value());
  CHECK(mode_of(dir.sub("w/key.pem")) == 0600);
  CHECK(mode_of(dir.sub("w/cert-chain.pem")) == 0644);
  CHECK(mode_of(dir.sub("w")) == 0700);
  auto creds = identity::load_credentials(dir.sub("w"), pki.clock.wall());
  REQUIRE(creds.has_value());
  CHECK(creds->identity().str() == "spiffe://cluster.local/ns/a/sa/b");
}

TEST_CASE("loading a directory names the missing or broken file") {
  TestPki pki;
  TempDir dir;
  auto missing = identity::load_credentials(dir.path(), pki.clock.wall());
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().context().find("cert-chain.pem") != std::string::npos);
  auto issued = *pki.ca.issue(testing::sid("spiffe://cluster.local/ns/a/sa/b"), pki.clock.wall(), 24h);
  REQUIRE(identity::save_issued(dir.path(), issued).has_value());
  REQUIRE(identity::write_file_atomic(identity::join(dir.path(), identity::kKeyFile), "junk", 0600).has_value());
  auto bad = identity::load_credentials(dir.path(), pki.clock.wall());
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().context().find("key:") != std::string::npos);
}

TEST_CASE("a CA directory round-trips and is not overwritten by accident") {
  TestPki pki;
  TempDir dir;
  REQUIRE(identity::save_ca(dir.path(), pki.ca, false).has_value());
  CHECK(mode_of(dir.sub("ca-key.pem")) == 0600);
  auto ca = identity::load_ca(dir.path());
  REQUIRE(ca.has_value());
  CHECK(ca->cert_pem() == pki.ca.cert_pem());
  CHECK(ca->trust_domain() == "cluster.local");
  auto again = identity::save_ca(dir.path(), pki.ca, false);
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().code() == base::Errc::Exists);
  CHECK(identity::save_ca(dir.path(), pki.ca, true).has_value());
}

TEST_CASE("a CA directory without root-cert.pem treats the CA certificate as the root") {
  TestPki pki;
  TempDir dir;
  REQUIRE(identity::write_file_atomic(dir.sub("ca-cert.pem"), pki.ca.cert_pem(), 0644).has_value());
  REQUIRE(identity::write_file_atomic(dir.sub("ca-key.pem"), pki.ca.key_pem(), 0600).has_value());
  auto ca = identity::load_ca(dir.path());
  REQUIRE(ca.has_value());
  CHECK(ca->root_pem() == pki.ca.cert_pem());
}
