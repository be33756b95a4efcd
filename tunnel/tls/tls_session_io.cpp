// TlsSession's data path: handshake driving, receive, write/flush/close, and the mapping of
// BoringSSL errors to TlsFailure. Setup and the BoringSSL callbacks are in tls_session.cpp.
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include <fmt/format.h>

#include "daemon/base/block_pool.hpp"
#include "tunnel/tls/tls_session.hpp"
#include "tunnel/tls/x509_util.hpp"

namespace mesh::tunnel {
namespace {

constexpr int kAlertOffset = 1000;  // SSL_R_* values for received alerts are 1000 + alert

bool is_certificate_alert(int alert) {
  switch (alert) {
    case SSL_AD_BAD_CERTIFICATE:
    case SSL_AD_UNSUPPORTED_CERTIFICATE:
    case SSL_AD_CERTIFICATE_REVOKED:
    case SSL_AD_CERTIFICATE_EXPIRED:
    case SSL_AD_CERTIFICATE_UNKNOWN:
    case SSL_AD_UNKNOWN_CA:
    case SSL_AD_ACCESS_DENIED:
    case SSL_AD_CERTIFICATE_REQUIRED:
      return true;
    default:
      return false;
  }
}

// The reason for a BoringSSL library error that our callbacks did not already explain.
TlsFailure classify(int reason, bool established) {
  if (reason >= kAlertOffset && reason < kAlertOffset + 256) {
    int alert = reason - kAlertOffset;
    if (alert == SSL_AD_PROTOCOL_VERSION) return TlsFailure::ProtocolVersion;
    if (alert == SSL_AD_NO_APPLICATION_PROTOCOL) return TlsFailure::AlpnMismatch;
    if (is_certificate_alert(alert)) return TlsFailure::PeerRejectedCertificate;
    return TlsFailure::PeerAlert;
  }
  switch (reason) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_NO_SUPPORTED_VERSIONS_ENABLED:
      return TlsFailure::ProtocolVersion;
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
      return TlsFailure::NoPeerCertificate;
    case SSL_R_NO_APPLICATION_PROTOCOL:
    case SSL_R_INVALID_ALPN_PROTOCOL:
      return TlsFailure::AlpnMismatch;
    case SSL_R_HTTP_REQUEST:
    case SSL_R_HTTPS_PROXY_REQUEST:
    case SSL_R_WRONG_VERSION_NUMBER:
      return established ? TlsFailure::BadRecord : TlsFailure::NotTls;
    default:
      return established ? TlsFailure::BadRecord : TlsFailure::HandshakeFailure;
  }
}

}  // namespace

void TlsSession::set_failure(TlsFailure f, std::string detail) {
  if (failure_ == TlsFailure::None) {
    failure_ = f;
    failure_detail_ = std::move(detail);
  }
  state_ = TlsState::Failed;
  early_.clear();
  staged_ = 0;
}

void TlsSession::fail_from_ssl(int ret) {
  int err = SSL_get_error(ssl_.get(), ret);
  uint32_t packed = ERR_peek_error();
  int reason = ERR_GET_LIB(packed) == ERR_LIB_SSL ? ERR_GET_REASON(packed) : 0;
  if (reason >= kAlertOffset && reason < kAlertOffset + 256) {
    alert_received_ = static_cast<uint8_t>(reason - kAlertOffset);
  }
  std::string detail = x509::drain_errors();
  if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN) {
    set_failure(TlsFailure::UnexpectedEof, "transport closed during the handshake");
    return;
  }
  if (err != SSL_ERROR_SSL) detail = fmt::format("SSL_get_error {} {}", err, detail);
  // A reason recorded by our callbacks (set_failure keeps the first) beats the generic one.
  set_failure(classify(reason, state_ != TlsState::Handshaking), std::move(detail));
}

bool TlsSession::finish_handshake() {
  const uint8_t* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(ssl_.get(), &alpn, &alpn_len);
  if (alpn_len != 2 || std::memcmp(alpn, "h2", 2) != 0) {
    SSL_send_fatal_alert(ssl_.get(), SSL_AD_NO_APPLICATION_PROTOCOL);
    set_failure(TlsFailure::AlpnMissing, "no ALPN protocol was negotiated");
    return false;
  }
  if (peer_.empty()) {  // cannot happen with SSL_VERIFY_PEER; never run unauthenticated
    SSL_send_fatal_alert(ssl_.get(), SSL_AD_INTERNAL_ERROR);
    set_failure(TlsFailure::Internal, "handshake completed without a verified peer");
    return false;
  }
  state_ = TlsState::Established;
  bool close_after = std::exchange(closing_, false);
  if (!early_.empty()) {
    // Plaintext queued during the handshake goes out right behind our Finished.
    while (!early_.empty()) {
      std::span<const uint8_t> chunk = early_.front();
      size_t n = chunk.size();
      write(chunk);
      early_.consume(n);
    }
    flush();
  }
  if (close_after) close();
  return true;
}

bool TlsSession::drive_handshake() {
  ERR_clear_error();
  int ret = SSL_do_handshake(ssl_.get());
  if (ret == 1) return finish_handshake();
  int err = SSL_get_error(ssl_.get(), ret);
  if (err == SSL_ERROR_WANT_READ && !eof_) return false;
  fail_from_ssl(ret);
  return false;
}

TlsSession::Progress TlsSession::receive(std::span<const uint8_t> in, std::span<uint8_t> out) {
  input_ = in;
  input_used_ = 0;
  size_t produced = 0;
  if (state_ == TlsState::Handshaking) drive_handshake();
  while (state_ == TlsState::Established && produced < out.size()) {
    ERR_clear_error();
    size_t room = std::min(out.size() - produced, static_cast<size_t>(INT_MAX));
    int n = SSL_read(ssl_.get(), out.data() + produced, static_cast<int>(room));
    if (n > 0) {
      produced += static_cast<size_t>(n);
      continue;
    }
    int err = SSL_get_error(ssl_.get(), n);
    if (err == SSL_ERROR_WANT_READ && !eof_) break;
    if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && eof_)) {
      state_ = TlsState::PeerClosed;
      break;
    }
    fail_from_ssl(n);
  }
  Progress p{input_used_, produced};
  input_ = {};
  input_used_ = 0;
  return p;
}

void TlsSession::receive_eof() {
  eof_ = true;
  if (state_ == TlsState::Handshaking) {
    set_failure(TlsFailure::UnexpectedEof, "transport closed during the handshake");
  } else if (state_ == TlsState::Established) {
    state_ = TlsState::PeerClosed;
  }
}

void TlsSession::seal(std::span<const uint8_t> plaintext) {
  ERR_clear_error();
  int n = SSL_write(ssl_.get(), plaintext.data(), static_cast<int>(plaintext.size()));
  if (n <= 0) {
    fail_from_ssl(n);
    return;
  }
  records_sealed_ += (plaintext.size() + kMaxRecordPlaintext - 1) / kMaxRecordPlaintext;
}

void TlsSession::write(std::span<const uint8_t> p) {
  if (closing_ || state_ == TlsState::Failed) return;
  if (state_ == TlsState::Handshaking) {
    early_.append(p);
    return;
  }
  if (staged_ > 0) {
    size_t n = std::min(kMaxRecordPlaintext - staged_, p.size());
    std::memcpy(staging_.get() + staged_, p.data(), n);
    staged_ += n;
    p = p.subspan(n);
    if (staged_ < kMaxRecordPlaintext) return;
    staged_ = 0;
    seal({staging_.get(), kMaxRecordPlaintext});
  }
  // Whole records straight from the caller's bytes; SSL_write takes at most INT_MAX.
  size_t whole = p.size() - p.size() % kMaxRecordPlaintext;
  constexpr size_t kMaxSealBatch = 64 * kMaxRecordPlaintext;
  for (size_t off = 0; off < whole && state_ != TlsState::Failed; off += kMaxSealBatch) {
    seal(p.subspan(off, std::min(kMaxSealBatch, whole - off)));
  }
  p = p.subspan(whole);
  if (!p.empty() && state_ != TlsState::Failed) {
    if (!staging_) staging_ = base::take_block(kMaxRecordPlaintext);  // reused per thread (block_pool.hpp)
    std::memcpy(staging_.get(), p.data(), p.size());
    staged_ = p.size();
  }
}

void TlsSession::flush() {
  if (staged_ == 0 || state_ == TlsState::Failed || state_ == TlsState::Handshaking) return;
  size_t n = std::exchange(staged_, 0);
  seal({staging_.get(), n});
  base::give_block(std::move(staging_), kMaxRecordPlaintext);  // an idle session holds no staging memory
}

void TlsSession::close() {
  if (state_ == TlsState::Failed) return;
  if (state_ == TlsState::Handshaking) {
    closing_ = true;  // sent once the handshake completes, after the early data
    return;
  }
  flush();
  closing_ = true;
  ERR_clear_error();
  SSL_shutdown(ssl_.get());
  ERR_clear_error();
}

std::string TlsSession::cipher_name() const {
  const SSL_CIPHER* c = ssl_ ? SSL_get_current_cipher(ssl_.get()) : nullptr;
  return c ? SSL_CIPHER_standard_name(c) : "";
}

}  // namespace mesh::tunnel
