#include "tunnel/tls/x509_util.hpp"

#include <doctest/doctest.h>

#include "tests/support/tls_test_pki.hpp"

using namespace mesh;
using namespace std::chrono_literals;
namespace x509 = mesh::tunnel::x509;

TEST_CASE("PEM parsing takes every certificate and refuses garbage, empty input and bad DER") {
  testing::TestPki pki;
  std::string two = pki.ca.root_pem() + pki.ca.root_pem();
  auto certs = x509::parse_certs(two, "bundle");
  REQUIRE(certs.has_value());
  CHECK(certs->size() == 2);
  CHECK_FALSE(x509::parse_certs("", "x").has_value());
  CHECK_FALSE(x509::parse_certs("hello world\n", "x").has_value());
  std::string broken = "-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n";
  auto r = x509::parse_certs(broken, "bundle");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().context() == "bundle: certificate 1 is not valid DER");
  std::string truncated = pki.ca.root_pem().substr(0, 200);
  CHECK_FALSE(x509::parse_certs(truncated, "x").has_value());
}

TEST_CASE("a certificate round-trips through PEM and its times convert to calendar time") {
  testing::TestPki pki;
  auto issued = *pki.ca.issue(testing::sid("spiffe://cluster.local/ns/a/sa/b"), pki.clock.wall(), 2h);
  auto certs = *x509::parse_certs(issued.cert_chain_pem, "chain");
  CHECK(x509::cert_to_pem(certs[0].get()) == issued.cert_chain_pem);
  CHECK(x509::not_after(certs[0].get()) == pki.clock.wall() + std::chrono::duration_cast<base::WallTime::duration>(2h));
  CHECK(x509::to_unix_seconds(x509::not_before(certs[0].get())) ==
        x509::to_unix_seconds(pki.clock.wall()) - 300);
}

TEST_CASE("a key round-trips through PKCS#8 PEM and is recognised as P-256") {
  testing::TestPki pki;
  auto issued = *pki.ca.issue(testing::sid("spiffe://cluster.local/ns/a/sa/b"), pki.clock.wall(), 2h);
  auto key = x509::parse_key(issued.key_pem, "key");
  REQUIRE(key.has_value());
  CHECK(x509::is_p256(key->get()));
  CHECK(x509::key_to_pem(key->get()) == issued.key_pem);
  CHECK_FALSE(x509::parse_key(pki.ca.root_pem(), "key").has_value());
}
