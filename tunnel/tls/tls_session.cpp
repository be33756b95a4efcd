#include "tunnel/tls/tls_session.hpp"

#include <openssl/err.h>
#include <openssl/pool.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include <fmt/format.h>

#include "tunnel/tls/credentials_data.hpp"
#include "tunnel/tls/peer_verifier.hpp"
#include "tunnel/tls/ssl_hooks.hpp"
#include "tunnel/tls/x509_util.hpp"

namespace mesh::tunnel {

using base::Errc;
using base::fail;

// The BoringSSL callbacks. The SSL's ex_data slot and the BIO's data both point at the
// owning TlsSession (updated on move by rebind()).
struct TlsSession::Hooks {
  static int ex_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
  }
  static TlsSession* of(const SSL* ssl) {
    return static_cast<TlsSession*>(SSL_get_ex_data(ssl, ex_index()));
  }

  static int bio_read(BIO* bio, char* out, int len) {
    auto* s = static_cast<TlsSession*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    size_t avail = s->input_.size() - s->input_used_;
    if (avail == 0) {
      if (s->eof_) return 0;
      BIO_set_retry_read(bio);
      return -1;
    }
    size_t n = std::min(avail, static_cast<size_t>(len));
    std::memcpy(out, s->input_.data() + s->input_used_, n);
    s->input_used_ += n;
    return static_cast<int>(n);
  }
  static int bio_write(BIO* bio, const char* in, int len) {
    auto* s = static_cast<TlsSession*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    s->out_.append({reinterpret_cast<const uint8_t*>(in), static_cast<size_t>(len)});
    return len;
  }
  static long bio_ctrl(BIO* /*bio*/, int cmd, long /*num*/, void* /*ptr*/) {
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
  }
  static const BIO_METHOD* bio_method() {
    static BIO_METHOD* const method = [] {
      BIO_METHOD* m = BIO_meth_new(BIO_TYPE_SOURCE_SINK, "meshd-tls-session");
      BIO_meth_set_read(m, bio_read);
      BIO_meth_set_write(m, bio_write);
      BIO_meth_set_ctrl(m, bio_ctrl);
      return m;
    }();
    return method;
  }

  static ssl_verify_result_t verify_peer(SSL* ssl, uint8_t* out_alert);

  static void record(SSL* ssl, TlsFailure f, std::string detail) {
    TlsSession* s = of(ssl);
    if (s != nullptr && s->failure_ == TlsFailure::None) {
      s->failure_ = f;
      s->failure_detail_ = std::move(detail);
    }
  }
};

namespace detail {
void record_failure(SSL* ssl, TlsFailure f, std::string detail) {
  TlsSession::Hooks::record(ssl, f, std::move(detail));
}
}  // namespace detail

namespace {

// SHA-256 over the peer's chain as sent (length-prefixed DER of each certificate).
VerifiedChainCache::Digest chain_digest(const STACK_OF(CRYPTO_BUFFER) * certs) {
  SHA256_CTX sha;
  SHA256_Init(&sha);
  for (size_t i = 0; i < sk_CRYPTO_BUFFER_num(certs); ++i) {
    const CRYPTO_BUFFER* b = sk_CRYPTO_BUFFER_value(certs, i);
    uint64_t len = CRYPTO_BUFFER_len(b);
    SHA256_Update(&sha, &len, sizeof len);
    SHA256_Update(&sha, CRYPTO_BUFFER_data(b), len);
  }
  VerifiedChainCache::Digest d;
  SHA256_Final(d.data(), &sha);
  return d;
}

// The chain checks proper: path to the trust bundle at `now`, then the SVID rules.
x509::CheckResult verify_fresh(SSL* ssl, const TlsContext& ctx, base::WallTime now, VerifiedChainCache::Entry& out) {
  STACK_OF(X509)* chain = SSL_get_peer_full_cert_chain(ssl);
  if (chain == nullptr || sk_X509_num(chain) == 0) {
    return {TlsFailure::NoPeerCertificate, SSL_AD_CERTIFICATE_REQUIRED, "peer sent no certificate"};
  }
  X509* leaf = sk_X509_value(chain, 0);
  x509::ChainWindow window;
  int purpose = ctx.role() == TlsRole::Server ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_SSL_SERVER;
  auto r = x509::verify_chain(ctx.credentials().data().store.get(), leaf, chain, now, purpose, &window);
  if (!r.ok()) return r;
  if (r = x509::spiffe_identity(leaf, out.identity); !r.ok()) return r;
  out.not_before = window.not_before;
  out.not_after = window.not_after;
  return r;
}

}  // namespace

ssl_verify_result_t TlsSession::Hooks::verify_peer(SSL* ssl, uint8_t* out_alert) {
  TlsSession* s = of(ssl);
  const TlsContext& ctx = *s->ctx_;
  bool is_server = ctx.role() == TlsRole::Server;
  auto refuse = [&](x509::CheckResult r) {
    detail::record_failure(ssl, r.failure, std::move(r.detail));
    *out_alert = r.alert;
    return ssl_verify_invalid;
  };
  const STACK_OF(CRYPTO_BUFFER)* certs = SSL_get0_peer_certificates(ssl);
  if (certs == nullptr || sk_CRYPTO_BUFFER_num(certs) == 0) {
    return refuse({TlsFailure::NoPeerCertificate, SSL_AD_CERTIFICATE_REQUIRED, "peer sent no certificate"});
  }
  base::WallTime now = ctx.clock().wall();
  VerifiedChainCache::Digest key = chain_digest(certs);
  VerifiedChainCache::Entry peer;
  if (auto hit = ctx.chain_cache().find(key, now)) {
    peer = std::move(*hit);
  } else if (auto r = verify_fresh(ssl, ctx, now, peer); !r.ok()) {
    return refuse(std::move(r));
  } else {
    ctx.chain_cache().insert(key, peer);
  }
  // Identity rules are checked on every handshake, cached chain or not.
  const SpiffeId& id = peer.identity;
  if (is_server && id.trust_domain() != ctx.trust_domain()) {
    return refuse({TlsFailure::WrongTrustDomain, SSL_AD_ACCESS_DENIED,
                   fmt::format("client '{}' is not in trust domain '{}'", id.str(), ctx.trust_domain())});
  }
  if (!is_server && std::find(s->expected_.begin(), s->expected_.end(), id) == s->expected_.end()) {
    return refuse({TlsFailure::UnexpectedIdentity, SSL_AD_BAD_CERTIFICATE,
                   fmt::format("server '{}' is not an expected identity", id.str())});
  }
  if (!is_server) {
    // EncryptedExtensions precede the Certificate, so the server's ALPN choice is known.
    const uint8_t* alpn = nullptr;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    if (alpn_len == 0) {
      return refuse({TlsFailure::AlpnMissing, SSL_AD_NO_APPLICATION_PROTOCOL, "server selected no ALPN"});
    }
  }
  s->peer_ = peer.identity;
  s->peer_not_after_ = peer.not_after;
  return ssl_verify_ok;
}

void TlsSession::SslDeleter::operator()(SSL* ssl) const { SSL_free(ssl); }

TlsSession::TlsSession(TlsSession&& o) noexcept { *this = std::move(o); }

TlsSession& TlsSession::operator=(TlsSession&& o) noexcept {
  if (this == &o) return *this;
  ctx_ = std::move(o.ctx_);
  ssl_ = std::move(o.ssl_);
  expected_ = std::move(o.expected_);
  out_ = std::move(o.out_);
  early_ = std::move(o.early_);
  staging_ = std::move(o.staging_);
  staged_ = std::exchange(o.staged_, 0);
  input_ = std::exchange(o.input_, {});
  input_used_ = std::exchange(o.input_used_, 0);
  eof_ = o.eof_;
  closing_ = o.closing_;
  state_ = o.state_;
  failure_ = o.failure_;
  failure_detail_ = std::move(o.failure_detail_);
  alert_received_ = o.alert_received_;
  peer_ = std::move(o.peer_);
  peer_not_after_ = o.peer_not_after_;
  records_sealed_ = o.records_sealed_;
  rebind();
  return *this;
}

TlsSession::~TlsSession() = default;

void TlsSession::rebind() {
  if (!ssl_) return;
  SSL_set_ex_data(ssl_.get(), Hooks::ex_index(), this);
  BIO_set_data(SSL_get_rbio(ssl_.get()), this);
}

base::Status TlsSession::init(std::shared_ptr<const TlsContext> ctx, TlsRole role) {
  if (!ctx || ctx->role() != role) return fail(Errc::Invalid, "TLS session: context has the wrong role");
  ctx_ = std::move(ctx);
  ssl_.reset(SSL_new(ctx_->native()));
  bssl::UniquePtr<BIO> bio(BIO_new(Hooks::bio_method()));
  if (!ssl_ || !bio) return fail(Errc::Internal, "TLS session: " + x509::drain_errors());
  BIO_set_init(bio.get(), 1);
  SSL_set_bio(ssl_.get(), bio.get(), bio.get());  // one reference for both directions
  bio.release();
  rebind();
  uint32_t verify_mode = SSL_VERIFY_PEER;
  if (role == TlsRole::Server) {
    verify_mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_set_accept_state(ssl_.get());
  } else {
    SSL_set_connect_state(ssl_.get());
  }
  SSL_set_custom_verify(ssl_.get(), static_cast<int>(verify_mode), Hooks::verify_peer);
  return base::ok();
}

base::Result<TlsSession> TlsSession::client(std::shared_ptr<const TlsContext> ctx,
                                            std::vector<SpiffeId> expected_server_ids) {
  if (expected_server_ids.empty()) return fail(Errc::Invalid, "TLS client: no expected server identity");
  TlsSession s;
  if (auto st = s.init(std::move(ctx), TlsRole::Client); !st) return fail(st.error());
  s.expected_ = std::move(expected_server_ids);
  s.drive_handshake();  // writes the ClientHello
  return s;
}

base::Result<TlsSession> TlsSession::server(std::shared_ptr<const TlsContext> ctx) {
  TlsSession s;
  if (auto st = s.init(std::move(ctx), TlsRole::Server); !st) return fail(st.error());
  return s;
}

}  // namespace mesh::tunnel
