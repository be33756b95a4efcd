#include "tunnel/tls/credentials.hpp"

#include <doctest/doctest.h>

#include "tests/support/tls_test_pki.hpp"

using namespace mesh;
using namespace std::chrono_literals;
using mesh::testing::sid;
using mesh::testing::TestPki;
using tunnel::Credentials;

namespace {
std::string error_of(const base::Result<Credentials>& r) { return r ? "" : r.error().context(); }
}  // namespace

TEST_CASE("credentials from the CA expose identity, validity and bundle size") {
  TestPki pki;
  auto issued = *pki.ca.issue(sid("spiffe://cluster.local/ns/a/sa/b"), pki.clock.wall(), 24h);
  auto c = Credentials::from_pem(issued.cert_chain_pem, issued.key_pem, issued.trust_bundle_pem, pki.clock.wall());
  REQUIRE(c.has_value());
  CHECK(c->identity().str() == "spiffe://cluster.local/ns/a/sa/b");
  CHECK(c->not_after() == issued.not_after);
  CHECK(c->not_before() == issued.not_before);
  CHECK(c->trust_bundle_size() == 1);
}

TEST_CASE("credentials refuse a key that does not match the certificate") {
  TestPki pki;
  auto a = *pki.ca.issue(sid("spiffe://cluster.local/ns/a/sa/b"), pki.clock.wall(), 24h);
  auto b = *pki.ca.issue(sid("spiffe://cluster.local/ns/a/sa/b"), pki.clock.wall(), 24h);
  auto c = Credentials::from_pem(a.cert_chain_pem, b.key_pem, a.trust_bundle_pem, pki.clock.wall());
  REQUIRE_FALSE(c.has_value());
  CHECK(error_of(c).find("does not match") != std::string::npos);
}

TEST_CASE("credentials refuse a chain that does not lead to the trust bundle") {
  TestPki pki;
  TestPki other;
  auto a = *pki.ca.issue(sid("spiffe://cluster.local/ns/a/sa/b"), pki.clock.wall(), 24h);
  auto c = Credentials::from_pem(a.cert_chain_pem, a.key_pem, other.ca.root_pem(), pki.clock.wall());
  REQUIRE_FALSE(c.has_value());
  CHECK(error_of(c).find("unknown_ca") != std::string::npos);
}

TEST_CASE("credentials refuse an expired or not yet valid certificate at load") {
  TestPki pki;
  auto a = *pki.ca.issue(sid("spiffe://cluster.local/ns/a/sa/b"), pki.clock.wall(), 1h);
  auto later = Credentials::from_pem(a.cert_chain_pem, a.key_pem, a.trust_bundle_pem, pki.clock.wall() + 2h);
  REQUIRE_FALSE(later.has_value());
  CHECK(error_of(later).find("cert_expired") != std::string::npos);
  auto earlier = Credentials::from_pem(a.cert_chain_pem, a.key_pem, a.trust_bundle_pem, pki.clock.wall() - 1h);
  REQUIRE_FALSE(earlier.has_value());
  CHECK(error_of(earlier).find("cert_not_yet_valid") != std::string::npos);
}

TEST_CASE("credentials refuse a leaf without exactly one SPIFFE URI SAN") {
  TestPki pki;
  tunnel::LeafSpec spec;
  spec.not_before = pki.clock.wall() - 1h;
  spec.not_after = pki.clock.wall() + 1h;
  auto none = *pki.ca.issue_leaf(spec);
  auto r = Credentials::from_pem(none.cert_chain_pem, none.key_pem, none.trust_bundle_pem, pki.clock.wall());
  REQUIRE_FALSE(r.has_value());
  CHECK(error_of(r).find("no URI SAN") != std::string::npos);
  spec.uri_sans = {"spiffe://cluster.local/ns/a/sa/b", "spiffe://cluster.local/ns/a/sa/c"};
  auto two = *pki.ca.issue_leaf(spec);
  CHECK_FALSE(Credentials::from_pem(two.cert_chain_pem, two.key_pem, two.trust_bundle_pem, pki.clock.wall()).has_value());
  spec.uri_sans = {"https://example.org/x"};
  auto web = *pki.ca.issue_leaf(spec);
  CHECK_FALSE(Credentials::from_pem(web.cert_chain_pem, web.key_pem, web.trust_bundle_pem, pki.clock.wall()).has_value());
}

TEST_CASE("credentials name the broken input in their errors") {
  TestPki pki;
  auto a = *pki.ca.issue(sid("spiffe://cluster.local/ns/a/sa/b"), pki.clock.wall(), 1h);
  CHECK(error_of(Credentials::from_pem("", a.key_pem, a.trust_bundle_pem, pki.clock.wall())).starts_with("cert chain:"));
  CHECK(error_of(Credentials::from_pem(a.cert_chain_pem, "nope", a.trust_bundle_pem, pki.clock.wall())).starts_with("key:"));
  CHECK(error_of(Credentials::from_pem(a.cert_chain_pem, a.key_pem, "", pki.clock.wall())).starts_with("trust bundle:"));
  CHECK(error_of(Credentials::from_pem(a.key_pem, a.key_pem, a.trust_bundle_pem, pki.clock.wall()))
            .find("unexpected PEM block") != std::string::npos);
}

TEST_CASE("a trust bundle may hold several roots, with text between the blocks") {
  TestPki pki;
  TestPki other;
  auto a = *pki.ca.issue(sid("spiffe://cluster.local/ns/a/sa/b"), pki.clock.wall(), 1h);
  std::string bundle = "# old root\n" + other.ca.root_pem() + "subject=new root\n" + pki.ca.root_pem();
  auto c = Credentials::from_pem(a.cert_chain_pem, a.key_pem, bundle, pki.clock.wall());
  REQUIRE(c.has_value());
  CHECK(c->trust_bundle_size() == 2);
}
