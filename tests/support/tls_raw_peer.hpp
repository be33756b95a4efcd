#pragma once
// Test support: a TLS peer configured directly through BoringSSL, not through our TlsContext,
// so tests can play clients and servers that our API refuses to build: TLS 1.2 only, no or
// other ALPN, no certificate. It accepts any peer certificate. Driven in memory through two
// memory BIOs; raw_pump() carries bytes between it and one of our TlsSessions.
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "tunnel/tls/tls_session.hpp"

namespace mesh::testing {

struct RawPeerOptions {
  bool server = false;
  uint16_t min_version = TLS1_2_VERSION;
  uint16_t max_version = TLS1_3_VERSION;
  std::optional<std::string> alpn = std::string("\x02h2", 3);  // wire format; nullopt: none
  std::string cert_chain_pem;  // empty: no certificate
  std::string key_pem;
};

class RawTlsPeer {
 public:
  explicit RawTlsPeer(const RawPeerOptions& o) {
    ctx_.reset(SSL_CTX_new(TLS_method()));
    REQUIRE(SSL_CTX_set_min_proto_version(ctx_.get(), o.min_version));
    REQUIRE(SSL_CTX_set_max_proto_version(ctx_.get(), o.max_version));
    if (!o.cert_chain_pem.empty()) load_cert(o);
    SSL_CTX_set_custom_verify(ctx_.get(), o.server ? SSL_VERIFY_PEER : SSL_VERIFY_PEER,
                              [](SSL*, uint8_t*) { return ssl_verify_ok; });
    if (o.alpn) {
      if (o.server) {
        alpn_ = *o.alpn;
        SSL_CTX_set_alpn_select_cb(ctx_.get(), select_alpn, this);
      } else {
        REQUIRE(SSL_CTX_set_alpn_protos(ctx_.get(), reinterpret_cast<const uint8_t*>(o.alpn->data()),
                                        o.alpn->size()) == 0);
      }
    }
    if (!o.server) {
      SSL_CTX_set_session_cache_mode(ctx_.get(), SSL_SESS_CACHE_CLIENT);
      SSL_CTX_sess_set_new_cb(ctx_.get(), on_new_session);
    }
    ssl_.reset(SSL_new(ctx_.get()));
    SSL_set_ex_data(ssl_.get(), ex_index(), this);
    rbio_ = BIO_new(BIO_s_mem());
    wbio_ = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl_.get(), rbio_, wbio_);
    if (o.server) SSL_set_accept_state(ssl_.get()); else SSL_set_connect_state(ssl_.get());
    step();
  }

  // Advances the handshake and reads any application data; returns SSL_do_handshake's result.
  int step() {
    ERR_clear_error();
    int r = SSL_do_handshake(ssl_.get());
    if (r == 1) {
      uint8_t buf[16384];
      int n;
      while ((n = SSL_read(ssl_.get(), buf, sizeof buf)) > 0) received_.insert(received_.end(), buf, buf + n);
    }
    ERR_clear_error();
    return r;
  }
  bool handshake_done() const { return SSL_is_init_finished(ssl_.get()); }
  void feed(const std::vector<uint8_t>& bytes) {
    BIO_write(rbio_, bytes.data(), static_cast<int>(bytes.size()));
    step();
  }
  std::vector<uint8_t> take_output() {
    const uint8_t* data = nullptr;
    size_t len = 0;
    BIO_mem_contents(wbio_, &data, &len);
    std::vector<uint8_t> out(data, data + len);
    BIO_reset(wbio_);
    return out;
  }
  void write(std::string_view s) { SSL_write(ssl_.get(), s.data(), static_cast<int>(s.size())); }
  const std::vector<uint8_t>& received() const { return received_; }
  // Session tickets (resumable sessions) this client has been given.
  int tickets_received() const { return tickets_; }
  SSL* ssl() { return ssl_.get(); }

 private:
  static int ex_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
  }
  static int on_new_session(SSL* ssl, SSL_SESSION* /*session*/) {
    static_cast<RawTlsPeer*>(SSL_get_ex_data(ssl, ex_index()))->tickets_++;
    return 0;  // we did not keep a reference
  }
  void load_cert(const RawPeerOptions& o) {
    bssl::UniquePtr<BIO> cb(BIO_new_mem_buf(o.cert_chain_pem.data(), static_cast<int>(o.cert_chain_pem.size())));
    bssl::UniquePtr<X509> leaf(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    REQUIRE(leaf);
    REQUIRE(SSL_CTX_use_certificate(ctx_.get(), leaf.get()));
    bssl::UniquePtr<BIO> kb(BIO_new_mem_buf(o.key_pem.data(), static_cast<int>(o.key_pem.size())));
    bssl::UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    REQUIRE(key);
    REQUIRE(SSL_CTX_use_PrivateKey(ctx_.get(), key.get()));
  }
  static int select_alpn(SSL*, const uint8_t** out, uint8_t* out_len, const uint8_t*, unsigned, void* arg) {
    auto* self = static_cast<RawTlsPeer*>(arg);
    *out = reinterpret_cast<const uint8_t*>(self->alpn_.data() + 1);
    *out_len = static_cast<uint8_t>(self->alpn_[0]);
    return SSL_TLSEXT_ERR_OK;
  }

  bssl::UniquePtr<SSL_CTX> ctx_;
  bssl::UniquePtr<SSL> ssl_;
  BIO* rbio_ = nullptr;  // owned by ssl_
  BIO* wbio_ = nullptr;  // owned by ssl_
  std::string alpn_;
  std::vector<uint8_t> received_;
  int tickets_ = 0;
};

// Carries bytes both ways between a raw peer and our session until quiet (bounded).
inline void raw_pump(RawTlsPeer& raw, tunnel::TlsSession& ours, std::vector<uint8_t>& ours_plain) {
  std::vector<uint8_t> buf(64 * 1024);
  for (int round = 0; round < 50; ++round) {
    bool moved = false;
    auto wire = raw.take_output();
    std::span<const uint8_t> in(wire);
    moved |= !wire.empty();
    for (int guard = 0; guard < 10000 && !in.empty(); ++guard) {
      auto p = ours.receive(in, buf);
      ours_plain.insert(ours_plain.end(), buf.begin(), buf.begin() + static_cast<long>(p.produced));
      in = in.subspan(p.consumed);
      if (p.consumed == 0 && p.produced == 0) break;
    }
    if (!ours.output().empty()) {
      std::vector<uint8_t> back(ours.output().size());
      ours.output().peek(back);
      ours.output().consume(back.size());
      raw.feed(back);
      moved = true;
    } else {
      raw.step();
    }
    if (!moved) return;
  }
  FAIL("raw_pump did not settle");
}

}  // namespace mesh::testing
