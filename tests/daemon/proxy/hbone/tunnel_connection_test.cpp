// TunnelConnection on a real 15008 listener (the HboneFixture's worker), driven by a TLS
// client written directly against BoringSSL so the test can send what our own engines never
// would: bytes that are not HTTP/2, and malformed frames.
#include "daemon/proxy/hbone/tunnel_connection.hpp"

#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "tests/daemon/proxy/hbone_fixture.hpp"

using namespace mesh;
using namespace mesh::testing;

namespace {

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// A TLS 1.3 client with a certificate of the test PKI over a blocking socket: sends `bytes`
// after the handshake and reads until the server closes. Returns true if it did within 5 s.
bool server_closes_after(HboneFixture& f, std::string_view bytes) {
  auto issued = f.pki.ca.issue(sid("spiffe://cluster.local/ns/default/sa/tester"), f.pki.clock.wall(), 1h);
  REQUIRE(issued);
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
  bssl::UniquePtr<BIO> cb(BIO_new_mem_buf(issued->cert_chain_pem.data(), static_cast<int>(issued->cert_chain_pem.size())));
  bssl::UniquePtr<X509> cert(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
  bssl::UniquePtr<BIO> kb(BIO_new_mem_buf(issued->key_pem.data(), static_cast<int>(issued->key_pem.size())));
  bssl::UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  REQUIRE((cert && key && SSL_CTX_use_certificate(ctx.get(), cert.get()) && SSL_CTX_use_PrivateKey(ctx.get(), key.get())));
  SSL_CTX_set_custom_verify(ctx.get(), SSL_VERIFY_PEER, [](SSL*, uint8_t*) { return ssl_verify_ok; });
  static const uint8_t kAlpn[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(ctx.get(), kAlpn, sizeof kAlpn);
  base::Fd fd = connect_to(f.hbone_addr);
  REQUIRE(fd);
  bssl::UniquePtr<SSL> ssl(SSL_new(ctx.get()));
  SSL_set_fd(ssl.get(), fd.get());
  // A blocking call may come back with EINTR (io_uring task work of the worker thread in this
  // process); BoringSSL reports that as WANT_READ/WANT_WRITE: try again (bounded).
  auto retry = [&](int rc) {
    int err = SSL_get_error(ssl.get(), rc);
    return err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE;
  };
  int rc = 0;
  for (int i = 0; i < 100 && (rc = SSL_connect(ssl.get())) != 1 && retry(rc); ++i) {
  }
  REQUIRE(rc == 1);
  for (int i = 0; i < 100 && (rc = SSL_write(ssl.get(), bytes.data(), static_cast<int>(bytes.size()))) <= 0 && retry(rc);
       ++i) {
  }
  REQUIRE(rc == static_cast<int>(bytes.size()));
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + 5s;
  for (int i = 0; i < 1000 && std::chrono::steady_clock::now() < deadline; ++i) {  // SO_RCVTIMEO 5 s per read
    int n = SSL_read(ssl.get(), buf, sizeof buf);
    if (n > 0) continue;
    int err = SSL_get_error(ssl.get(), n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      if (errno == EINTR) continue;
      return false;  // the 5 s receive timeout: the server stayed silent
    }
    return err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_SYSCALL || err == SSL_ERROR_SSL;
  }
  return false;
}

uint64_t h2_failures(const HboneFixture& f, tunnel::http::ConnectionFailure why) {
  return f.worker->tunnel_stats().h2_failures[static_cast<size_t>(why)].value();
}

}  // namespace

TEST_CASE("bytes that are not HTTP/2 after TLS close that connection, counted as bad_preface") {
  HboneFixture f(base::SocketAddr::parse("127.0.0.1:9").value());
  CHECK(server_closes_after(f, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(eventually([&] { return h2_failures(f, tunnel::http::ConnectionFailure::BadPreface) == 1; }));
  CHECK(eventually([&] { return f.worker->tunnel_stats().active[1].value() == 0; }));
}

TEST_CASE("a malformed frame closes that connection and is counted by its reason") {
  // Regression: nghttp2 answers a frame-size error with GOAWAY on its own; the failure was
  // recorded only when that GOAWAY was sent, and meshd counted failures only on receive.
  HboneFixture f(base::SocketAddr::parse("127.0.0.1:9").value());
  std::string bytes(kPreface);
  bytes += std::string("\x00\x00\x05\x04\x00\x00\x00\x00\x00", 9) + std::string("\x00\x03\x00\x00\x00", 5);
  CHECK(server_closes_after(f, bytes));
  CHECK(eventually([&] { return h2_failures(f, tunnel::http::ConnectionFailure::FrameSize) == 1; }));
  CHECK(eventually([&] { return f.worker->tunnel_stats().active[1].value() == 0; }));
}
