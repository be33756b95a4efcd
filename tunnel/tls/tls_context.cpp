#include "tunnel/tls/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstring>

#include "tunnel/tls/credentials_data.hpp"
#include "tunnel/tls/ssl_hooks.hpp"
#include "tunnel/tls/x509_util.hpp"

namespace mesh::tunnel {
namespace {

using base::Errc;
using base::fail;

constexpr uint16_t kSigningPrefs[] = {SSL_SIGN_ECDSA_SECP256R1_SHA256};
constexpr uint16_t kVerifyPrefs[] = {
    SSL_SIGN_ECDSA_SECP256R1_SHA256, SSL_SIGN_RSA_PSS_RSAE_SHA256, SSL_SIGN_ECDSA_SECP384R1_SHA384,
    SSL_SIGN_RSA_PSS_RSAE_SHA384,    SSL_SIGN_RSA_PSS_RSAE_SHA512,
};

// Server: a ClientHello without ALPN is refused before any work is done.
ssl_select_cert_result_t select_certificate(const SSL_CLIENT_HELLO* hello) {
  const uint8_t* data = nullptr;
  size_t len = 0;
  if (!SSL_early_callback_ctx_extension_get(hello, TLSEXT_TYPE_application_layer_protocol_negotiation,
                                            &data, &len)) {
    detail::record_failure(hello->ssl, TlsFailure::AlpnMissing, "client offered no ALPN protocol");
    return ssl_select_cert_error;
  }
  return ssl_select_cert_success;
}

// Server: select "h2" or refuse with no_application_protocol.
int select_alpn(SSL* ssl, const uint8_t** out, uint8_t* out_len, const uint8_t* in, unsigned in_len,
                void* /*arg*/) {
  for (unsigned i = 0; i < in_len;) {
    uint8_t len = in[i];
    if (i + 1 + len > in_len) break;
    if (len == 2 && std::memcmp(in + i + 1, "h2", 2) == 0) {
      *out = in + i + 1;
      *out_len = len;
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1u + len;
  }
  detail::record_failure(ssl, TlsFailure::AlpnMismatch, "client's ALPN protocols do not include h2");
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

base::Status configure(SSL_CTX* ctx, TlsRole role, const detail::CredentialsData& d) {
  bool ok = SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) &&
            SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) &&
            SSL_CTX_set1_curves_list(ctx, "X25519:P-256") &&
            SSL_CTX_set_signing_algorithm_prefs(ctx, kSigningPrefs, std::size(kSigningPrefs)) &&
            SSL_CTX_set_verify_algorithm_prefs(ctx, kVerifyPrefs, std::size(kVerifyPrefs)) &&
            SSL_CTX_use_certificate(ctx, d.chain.front().get()) &&
            SSL_CTX_use_PrivateKey(ctx, d.key.get());
  for (size_t i = 1; ok && i < d.chain.size(); ++i) ok = SSL_CTX_add1_chain_cert(ctx, d.chain[i].get());
  if (!ok || !SSL_CTX_check_private_key(ctx)) {
    return fail(Errc::Internal, "configure SSL_CTX: " + x509::drain_errors());
  }
  // No resumption (as ztunnel): every connection authenticates with the current certificates.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  if (role == TlsRole::Server) {
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_select_certificate_cb(ctx, select_certificate);
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
  } else if (SSL_CTX_set_alpn_protos(ctx, detail::kAlpnH2, sizeof detail::kAlpnH2) != 0) {
    return fail(Errc::Internal, "configure SSL_CTX: ALPN");
  }
  return base::ok();
}

}  // namespace

base::Result<std::shared_ptr<const TlsContext>> TlsContext::create(TlsRole role,
                                                                   const Credentials& credentials,
                                                                   const base::Clock& clock,
                                                                   TlsContextOptions options) {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  if (!ctx) return fail(Errc::Internal, "SSL_CTX_new: " + x509::drain_errors());
  if (auto st = configure(ctx.get(), role, credentials.data()); !st) return fail(st.error());
  return std::shared_ptr<const TlsContext>(new TlsContext(role, credentials, clock, ctx.release(), options.verified_chain_cache));
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

}  // namespace mesh::tunnel
