#include "tunnel/tls/peer_verifier.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include <fmt/format.h>

#include "tunnel/tls/x509_util.hpp"

namespace mesh::tunnel::x509 {
namespace {

CheckResult failure(TlsFailure f, uint8_t alert, std::string detail) {
  return CheckResult{f, alert, std::move(detail)};
}

CheckResult map_verify_error(int err) {
  std::string detail = fmt::format("X.509 error {}: {}", err, X509_verify_cert_error_string(err));
  switch (err) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return failure(TlsFailure::CertExpired, SSL_AD_CERTIFICATE_EXPIRED, std::move(detail));
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return failure(TlsFailure::CertNotYetValid, SSL_AD_BAD_CERTIFICATE, std::move(detail));
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return failure(TlsFailure::UnknownCa, SSL_AD_UNKNOWN_CA, std::move(detail));
    default:
      return failure(TlsFailure::BadCertificate, SSL_AD_BAD_CERTIFICATE, std::move(detail));
  }
}

}  // namespace

CheckResult verify_chain(X509_STORE* store, X509* leaf, STACK_OF(X509) * untrusted,
                         base::WallTime now, int purpose, ChainWindow* window) {
  bssl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!ctx || !X509_STORE_CTX_init(ctx.get(), store, leaf, untrusted)) {
    return failure(TlsFailure::Internal, SSL_AD_INTERNAL_ERROR, "X509_STORE_CTX_init: " + drain_errors());
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(to_unix_seconds(now)));
  X509_STORE_CTX_set_purpose(ctx.get(), purpose);
  X509_STORE_CTX_set_depth(ctx.get(), 8);
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return map_verify_error(err);
  }
  if (window != nullptr) {
    window->not_before = base::WallTime::min();
    window->not_after = base::WallTime::max();
    STACK_OF(X509)* verified = X509_STORE_CTX_get0_chain(ctx.get());
    for (size_t i = 0; i < sk_X509_num(verified); ++i) {
      X509* c = sk_X509_value(verified, i);
      window->not_before = std::max(window->not_before, not_before(c));
      window->not_after = std::min(window->not_after, not_after(c));
    }
  }
  return {};
}

CheckResult spiffe_identity(X509* leaf, SpiffeId& out) {
  std::vector<std::string> uris = uri_sans(leaf);
  if (uris.empty()) {
    return failure(TlsFailure::MissingUriSan, SSL_AD_BAD_CERTIFICATE, "certificate has no URI SAN");
  }
  if (uris.size() > 1) {
    return failure(TlsFailure::InvalidSpiffeId, SSL_AD_BAD_CERTIFICATE,
                   fmt::format("certificate has {} URI SANs, an SVID has exactly one", uris.size()));
  }
  auto id = SpiffeId::parse(uris.front());
  if (!id) return failure(TlsFailure::InvalidSpiffeId, SSL_AD_BAD_CERTIFICATE, id.error().context());
  if (X509_check_ca(leaf) != 0) {
    return failure(TlsFailure::BadCertificate, SSL_AD_BAD_CERTIFICATE,
                   "leaf certificate is a CA certificate");
  }
  out = std::move(*id);
  return {};
}

}  // namespace mesh::tunnel::x509
