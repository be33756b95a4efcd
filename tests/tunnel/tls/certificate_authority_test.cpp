#include "tunnel/tls/certificate_authority.hpp"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <doctest/doctest.h>

#include "tests/support/tls_test_pki.hpp"
#include "tunnel/tls/credentials.hpp"
#include "tunnel/tls/x509_util.hpp"

using namespace mesh;
using namespace std::chrono_literals;
using mesh::testing::sid;
using tunnel::CertificateAuthority;

namespace {
bssl::UniquePtr<X509> first_cert(const std::string& pem) {
  auto certs = tunnel::x509::parse_certs(pem, "test");
  REQUIRE(certs.has_value());
  return std::move(certs->front());
}
}  // namespace

TEST_CASE("a new root CA is a self-signed P-256 CA certificate for its trust domain") {
  base::FakeClock clock;
  auto ca = CertificateAuthority::create_root("example.org", clock.wall(), 8760h);
  REQUIRE(ca.has_value());
  CHECK(ca->trust_domain() == "example.org");
  auto root = first_cert(ca->cert_pem());
  CHECK(X509_check_ca(root.get()) == 1);
  CHECK(X509_check_issued(root.get(), root.get()) == X509_V_OK);
  bssl::UniquePtr<EVP_PKEY> pub(X509_get_pubkey(root.get()));
  CHECK(tunnel::x509::is_p256(pub.get()));
  CHECK(ca->not_after() - clock.wall() == std::chrono::duration_cast<base::WallTime::duration>(8760h));
  CHECK(ca->root_pem() == ca->cert_pem());
  CHECK(ca->chain_pem().empty());
  CHECK(tunnel::x509::uri_sans(root.get()) == std::vector<std::string>{"spiffe://example.org"});
}

TEST_CASE("a root CA round-trips through PEM and keeps issuing verifiable leaves") {
  base::FakeClock clock;
  auto ca = CertificateAuthority::create_root("cluster.local", clock.wall(), 8760h);
  REQUIRE(ca.has_value());
  auto again = CertificateAuthority::from_pem(ca->cert_pem(), ca->key_pem(), "", "");
  REQUIRE(again.has_value());
  CHECK(again->trust_domain() == "cluster.local");
  auto leaf = again->issue(sid("spiffe://cluster.local/ns/a/sa/b"), clock.wall(), 1h);
  REQUIRE(leaf.has_value());
  CHECK(leaf->trust_bundle_pem == ca->cert_pem());
  auto creds = tunnel::Credentials::from_pem(leaf->cert_chain_pem, leaf->key_pem, ca->root_pem(), clock.wall());
  CHECK(creds.has_value());
}

TEST_CASE("an issued leaf carries only the SPIFFE URI SAN with SVID key usage and EKU") {
  base::FakeClock clock;
  auto ca = *CertificateAuthority::create_root("cluster.local", clock.wall(), 8760h);
  auto issued = ca.issue(sid("spiffe://cluster.local/ns/shop/sa/cart"), clock.wall(), 24h);
  REQUIRE(issued.has_value());
  auto leaf = first_cert(issued->cert_chain_pem);
  CHECK(tunnel::x509::uri_sans(leaf.get()) == std::vector<std::string>{"spiffe://cluster.local/ns/shop/sa/cart"});
  CHECK(X509_check_ca(leaf.get()) == 0);
  CHECK((X509_get_key_usage(leaf.get()) & KU_DIGITAL_SIGNATURE) != 0);
  CHECK((X509_get_key_usage(leaf.get()) & KU_KEY_CERT_SIGN) == 0);
  uint32_t eku = X509_get_extended_key_usage(leaf.get());
  CHECK((eku & XKU_SSL_SERVER) != 0);
  CHECK((eku & XKU_SSL_CLIENT) != 0);
  CHECK(X509_NAME_entry_count(X509_get_subject_name(leaf.get())) == 0);
  int san_idx = X509_get_ext_by_NID(leaf.get(), NID_subject_alt_name, -1);
  REQUIRE(san_idx >= 0);
  CHECK(X509_EXTENSION_get_critical(X509_get_ext(leaf.get(), san_idx)) == 1);
  // Backdated by five minutes, 24 hours from now.
  CHECK(issued->not_before == clock.wall() - CertificateAuthority::kBackdate);
  CHECK(issued->not_after == clock.wall() + std::chrono::duration_cast<base::WallTime::duration>(24h));
  CHECK(issued->key_pem.find("BEGIN PRIVATE KEY") != std::string::npos);
}

TEST_CASE("two issued leaves have different keys and serial numbers") {
  base::FakeClock clock;
  auto ca = *CertificateAuthority::create_root("cluster.local", clock.wall(), 8760h);
  auto a = *ca.issue(sid("spiffe://cluster.local/ns/a/sa/a"), clock.wall(), 1h);
  auto b = *ca.issue(sid("spiffe://cluster.local/ns/a/sa/a"), clock.wall(), 1h);
  CHECK(a.key_pem != b.key_pem);
  auto ca_creds = tunnel::Credentials::from_pem(a.cert_chain_pem, a.key_pem, a.trust_bundle_pem, clock.wall());
  auto cb_creds = tunnel::Credentials::from_pem(b.cert_chain_pem, b.key_pem, b.trust_bundle_pem, clock.wall());
  REQUIRE(ca_creds.has_value());
  REQUIRE(cb_creds.has_value());
  CHECK(ca_creds->serial_hex() != cb_creds->serial_hex());
  CHECK(ca_creds->serial_hex().size() == 32);
}

TEST_CASE("the CA refuses identities of another trust domain and non-positive validity") {
  base::FakeClock clock;
  auto ca = *CertificateAuthority::create_root("cluster.local", clock.wall(), 8760h);
  CHECK_FALSE(ca.issue(sid("spiffe://other.domain/ns/a/sa/b"), clock.wall(), 1h).has_value());
  CHECK_FALSE(ca.issue(sid("spiffe://cluster.local/ns/a/sa/b"), clock.wall(), 0h).has_value());
  CHECK_FALSE(CertificateAuthority::create_root("Bad Domain", clock.wall(), 1h).has_value());
}

TEST_CASE("a leaf never outlives its CA and an expired CA issues nothing") {
  base::FakeClock clock;
  auto ca = *CertificateAuthority::create_root("cluster.local", clock.wall(), 10h);
  auto leaf = ca.issue(sid("spiffe://cluster.local/ns/a/sa/b"), clock.wall(), 24h);
  REQUIRE(leaf.has_value());
  CHECK(leaf->not_after == ca.not_after());
  clock.advance(11h);
  CHECK_FALSE(ca.issue(sid("spiffe://cluster.local/ns/a/sa/b"), clock.wall(), 1h).has_value());
}

TEST_CASE("an intermediate CA puts itself in the issued chain and the root in the bundle") {
  base::FakeClock clock;
  auto root = *CertificateAuthority::create_root("cluster.local", clock.wall(), 8760h);
  // Make an intermediate by issuing a CA "leaf" from the root.
  tunnel::LeafSpec spec;
  spec.uri_sans = {"spiffe://cluster.local"};
  spec.not_before = clock.wall();
  spec.not_after = clock.wall() + std::chrono::hours(1000);
  spec.is_ca = true;
  auto inter = root.issue_leaf(spec);
  REQUIRE(inter.has_value());
  auto ica = CertificateAuthority::from_pem(inter->cert_chain_pem, inter->key_pem, "", root.root_pem());
  REQUIRE_MESSAGE(ica.has_value(), (ica ? "" : ica.error().message()));
  auto leaf = ica->issue(sid("spiffe://cluster.local/ns/a/sa/b"), clock.wall(), 1h);
  REQUIRE(leaf.has_value());
  auto chain = tunnel::x509::parse_certs(leaf->cert_chain_pem, "chain");
  REQUIRE(chain.has_value());
  CHECK(chain->size() == 2);
  CHECK(leaf->trust_bundle_pem == root.root_pem());
  auto creds = tunnel::Credentials::from_pem(leaf->cert_chain_pem, leaf->key_pem, leaf->trust_bundle_pem, clock.wall());
  CHECK_MESSAGE(creds.has_value(), (creds ? "" : creds.error().message()));
}

TEST_CASE("loading a CA refuses a mismatched key and a non-CA certificate") {
  base::FakeClock clock;
  auto ca1 = *CertificateAuthority::create_root("cluster.local", clock.wall(), 8760h);
  auto ca2 = *CertificateAuthority::create_root("cluster.local", clock.wall(), 8760h);
  CHECK_FALSE(CertificateAuthority::from_pem(ca1.cert_pem(), ca2.key_pem(), "", "").has_value());
  auto leaf = *ca1.issue(sid("spiffe://cluster.local/ns/a/sa/b"), clock.wall(), 1h);
  auto r = CertificateAuthority::from_pem(leaf.cert_chain_pem, leaf.key_pem, "", "");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().context().find("not a CA") != std::string::npos);
  CHECK_FALSE(CertificateAuthority::from_pem("garbage", ca1.key_pem(), "", "").has_value());
}
