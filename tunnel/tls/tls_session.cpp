#include "tunnel/tls/tls_session.hpp"

#include <openssl/err.h>
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

ssl_verify_result_t TlsSession::Hooks::verify_peer(SSL* ssl, uint8_t* out_alert) {
  TlsSession* s = of(ssl);
  const TlsContext& ctx = *s->ctx_;
  bool is_server = ctx.role() == TlsRole::Server;
  auto refuse = [&](x509::CheckResult r) {
    detail::record_failure(ssl, r.failure, std::move(r.detail));
    *out_alert = r.alert;
    return ssl_verify_invalid;
  };
  STACK_OF(X509)* chain = SSL_get_peer_full_cert_chain(ssl);
  if (chain == nullptr || sk_X509_num(chain) == 0) {
    return refuse({TlsFailure::NoPeerCertificate, SSL_AD_CERTIFICATE_REQUIRED, "peer sent no certificate"});
  }
  X509* leaf = sk_X509_value(chain, 0);
  auto r = x509::verify_chain(ctx.credentials().data().store.get(), leaf, chain, ctx.clock().wall(),
                              is_server ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_SSL_SERVER);
  if (!r.ok()) return refuse(std::move(r));
  SpiffeId id;
  if (r = x509::spiffe_identity(leaf, id); !r.ok()) return refuse(std::move(r));
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
  base::WallTime expiry = base::WallTime::max();
  for (size_t i = 0; i < sk_X509_num(chain); ++i) {
    expiry = std::min(expiry, x509::not_after(sk_X509_value(chain, i)));
  }
  s->peer_ = std::move(id);
  s->peer_not_after_ = expiry;
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
  staging_ = std::make_unique_for_overwrite<uint8_t[]>(kMaxRecordPlaintext);
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
