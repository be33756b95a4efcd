#include "tunnel/tls/credentials.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include <fmt/format.h>

#include "tunnel/tls/credentials_data.hpp"
#include "tunnel/tls/peer_verifier.hpp"

namespace mesh::tunnel {
namespace {

using base::Errc;
using base::fail;

base::Result<bssl::UniquePtr<X509_STORE>> build_store(const x509::CertList& bundle) {
  bssl::UniquePtr<X509_STORE> store(X509_STORE_new());
  if (!store) return fail(Errc::Internal, "X509_STORE_new failed");
  for (const auto& cert : bundle) {
    if (!X509_STORE_add_cert(store.get(), cert.get())) {
      uint32_t err = ERR_peek_last_error();
      ERR_clear_error();
      // The same root listed twice is harmless.
      if (ERR_GET_REASON(err) != X509_R_CERT_ALREADY_IN_HASH_TABLE) {
        return fail(Errc::Invalid, "trust bundle: cannot add a certificate to the store");
      }
    }
  }
  return store;
}

base::Status check_key(const detail::CredentialsData& d) {
  if (!x509::is_p256(d.key.get())) return fail(Errc::Invalid, "key: not an ECDSA P-256 key");
  if (!X509_check_private_key(d.chain.front().get(), d.key.get())) {
    ERR_clear_error();
    return fail(Errc::Invalid, "key: does not match the leaf certificate");
  }
  return base::ok();
}

base::Status check_chain(const detail::CredentialsData& d, base::WallTime now) {
  // bssl::UniquePtr<STACK_OF(X509)> frees its elements, so each one gets its own reference.
  bssl::UniquePtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
  for (size_t i = 1; i < d.chain.size(); ++i) {
    if (!untrusted || !sk_X509_push(untrusted.get(), bssl::UpRef(d.chain[i]).release())) {
      return fail(Errc::Internal, "cert chain: out of memory");
    }
  }
  // Our own certificate is used in both roles, so check it as a server certificate (the
  // client-auth EKU is checked by peers when we act as a client).
  auto r = x509::verify_chain(d.store.get(), d.chain.front().get(), untrusted.get(), now,
                              X509_PURPOSE_SSL_SERVER);
  if (!r.ok()) {
    return fail(Errc::Invalid, fmt::format("cert chain: does not verify against the trust bundle "
                                           "({}: {})", to_string(r.failure), r.detail));
  }
  return base::ok();
}

}  // namespace

base::Result<Credentials> Credentials::from_pem(std::string_view chain_pem, std::string_view key_pem,
                                                std::string_view bundle_pem, base::WallTime now) {
  auto d = std::make_shared<detail::CredentialsData>();
  auto chain = x509::parse_certs(chain_pem, "cert chain");
  if (!chain) return fail(chain.error());
  d->chain = std::move(*chain);
  auto key = x509::parse_key(key_pem, "key");
  if (!key) return fail(key.error());
  d->key = std::move(*key);
  auto bundle = x509::parse_certs(bundle_pem, "trust bundle");
  if (!bundle) return fail(bundle.error());
  d->bundle = std::move(*bundle);
  auto store = build_store(d->bundle);
  if (!store) return fail(store.error());
  d->store = std::move(*store);

  auto id = x509::spiffe_identity(d->chain.front().get(), d->identity);
  if (!id.ok()) return fail(Errc::Invalid, fmt::format("cert chain: leaf: {}", id.detail));
  if (auto st = check_key(*d); !st) return fail(st.error());
  if (auto st = check_chain(*d, now); !st) return fail(st.error());

  d->not_before = x509::not_before(d->chain.front().get());
  d->not_after = x509::not_after(d->chain.front().get());
  for (const auto& c : d->chain) d->not_after = std::min(d->not_after, x509::not_after(c.get()));
  return Credentials(std::move(d));
}

const SpiffeId& Credentials::identity() const { return data_->identity; }
base::WallTime Credentials::not_before() const { return data_->not_before; }
base::WallTime Credentials::not_after() const { return data_->not_after; }
size_t Credentials::trust_bundle_size() const { return data_->bundle.size(); }

std::string Credentials::serial_hex() const {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(data_->chain.front().get());
  bssl::UniquePtr<BIGNUM> bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) return {};
  bssl::UniquePtr<char> hex(BN_bn2hex(bn.get()));
  return hex ? std::string(hex.get()) : std::string();
}

}  // namespace mesh::tunnel
