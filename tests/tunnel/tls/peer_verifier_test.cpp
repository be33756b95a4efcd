#include "tunnel/tls/peer_verifier.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <doctest/doctest.h>

#include "tests/support/tls_test_pki.hpp"
#include "tunnel/tls/credentials_data.hpp"

using namespace mesh;
using namespace std::chrono_literals;
using tunnel::TlsFailure;
namespace x509 = mesh::tunnel::x509;

namespace {
bssl::UniquePtr<X509> leaf_of(const tunnel::IssuedCert& ic) {
  return std::move(x509::parse_certs(ic.cert_chain_pem, "leaf")->front());
}
}  // namespace

TEST_CASE("chain verification maps X.509 errors to reasons and alerts") {
  testing::TestPki pki;
  auto creds = pki.creds("spiffe://cluster.local/ns/a/sa/b");
  X509_STORE* store = creds.data().store.get();
  auto ic = *pki.ca.issue(testing::sid("spiffe://cluster.local/ns/c/sa/d"), pki.clock.wall(), 1h);
  auto leaf = leaf_of(ic);
  auto now = pki.clock.wall();
  CHECK(x509::verify_chain(store, leaf.get(), nullptr, now, X509_PURPOSE_SSL_CLIENT).ok());
  auto expired = x509::verify_chain(store, leaf.get(), nullptr, now + 2h, X509_PURPOSE_SSL_CLIENT);
  CHECK(expired.failure == TlsFailure::CertExpired);
  CHECK(expired.alert == SSL_AD_CERTIFICATE_EXPIRED);
  auto early = x509::verify_chain(store, leaf.get(), nullptr, now - 1h, X509_PURPOSE_SSL_CLIENT);
  CHECK(early.failure == TlsFailure::CertNotYetValid);
  testing::TestPki stranger;
  auto foreign = leaf_of(*stranger.ca.issue(testing::sid("spiffe://cluster.local/ns/c/sa/d"), now, 1h));
  auto unknown = x509::verify_chain(store, foreign.get(), nullptr, now, X509_PURPOSE_SSL_CLIENT);
  CHECK(unknown.failure == TlsFailure::UnknownCa);
  CHECK(unknown.alert == SSL_AD_UNKNOWN_CA);
  CHECK_FALSE(unknown.detail.empty());
}

TEST_CASE("the SPIFFE identity check refuses a leaf that is a CA") {
  testing::TestPki pki;
  tunnel::LeafSpec spec{{"spiffe://cluster.local/ns/a/sa/b"}, pki.clock.wall() - 1h, pki.clock.wall() + 1h, true};
  auto leaf = leaf_of(*pki.ca.issue_leaf(spec));
  tunnel::SpiffeId id;
  auto r = x509::spiffe_identity(leaf.get(), id);
  CHECK(r.failure == TlsFailure::BadCertificate);
  CHECK(id.empty());
  spec.is_ca = false;
  auto good = leaf_of(*pki.ca.issue_leaf(spec));
  CHECK(x509::spiffe_identity(good.get(), id).ok());
  CHECK(id.str() == "spiffe://cluster.local/ns/a/sa/b");
}
