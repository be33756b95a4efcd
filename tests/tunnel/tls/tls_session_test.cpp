// Handshake and peer checks of TlsSession: who is accepted, and the distinct reason for
// every refusal. Data-path behaviour is in tls_session_io_test.cpp.
#include "tunnel/tls/tls_session.hpp"

#include <doctest/doctest.h>

#include "tests/support/tls_raw_peer.hpp"
#include "tests/support/tls_test_pki.hpp"

using namespace mesh;
using namespace std::chrono_literals;
using mesh::testing::pump;
using mesh::testing::RawPeerOptions;
using mesh::testing::RawTlsPeer;
using mesh::testing::sid;
using mesh::testing::TestPki;
using tunnel::TlsFailure;
using tunnel::TlsRole;
using tunnel::TlsSession;
using tunnel::TlsState;

namespace {

constexpr std::string_view kServerId = "spiffe://cluster.local/ns/srv/sa/server";
constexpr std::string_view kClientId = "spiffe://cluster.local/ns/cli/sa/client";

TlsSession make_client(TestPki& pki, const tunnel::Credentials& c, std::string_view expect = kServerId) {
  auto s = TlsSession::client(pki.context(TlsRole::Client, c), {sid(expect)});
  REQUIRE(s.has_value());
  return std::move(*s);
}

TlsSession make_server(TestPki& pki, const tunnel::Credentials& c) {
  auto s = TlsSession::server(pki.context(TlsRole::Server, c));
  REQUIRE(s.has_value());
  return std::move(*s);
}

// Credentials loaded at `load_time` (so a test can hold certificates that are not valid now).
tunnel::Credentials load(const tunnel::IssuedCert& ic, base::WallTime load_time) {
  auto c = tunnel::Credentials::from_pem(ic.cert_chain_pem, ic.key_pem, ic.trust_bundle_pem, load_time);
  REQUIRE_MESSAGE(c.has_value(), (c ? "" : c.error().message()));
  return *c;
}

tunnel::IssuedCert leaf(TestPki& pki, std::vector<std::string> sans, base::WallTime from, base::WallTime to) {
  tunnel::LeafSpec spec{std::move(sans), from, to};
  auto ic = pki.ca.issue_leaf(spec);
  REQUIRE(ic.has_value());
  return *ic;
}

void check_refused(const TlsSession& s, TlsFailure want) {
  CHECK(s.state() == TlsState::Failed);
  CHECK_MESSAGE(s.failure() == want, "got ", tunnel::to_string(s.failure()), " (", s.failure_detail(), ")");
}

}  // namespace

TEST_CASE("client and server from one CA complete a TLS 1.3 handshake and learn each other's identity") {
  TestPki pki;
  auto client = make_client(pki, pki.creds(kClientId));
  auto server = make_server(pki, pki.creds(kServerId));
  CHECK_FALSE(client.output().empty());  // the ClientHello is ready at once
  pump(client, server);
  REQUIRE(client.state() == TlsState::Established);
  REQUIRE(server.state() == TlsState::Established);
  CHECK(client.peer_identity().str() == kServerId);
  CHECK(server.peer_identity().str() == kClientId);
  CHECK(client.failure() == TlsFailure::None);
  CHECK(client.cipher_name().starts_with("TLS_AES_"));
  CHECK(server.peer_not_after() == pki.clock.wall() + std::chrono::duration_cast<base::WallTime::duration>(24h));
}

TEST_CASE("a client accepts any one of several expected server identities") {
  TestPki pki;
  auto ctx = pki.client_ctx(kClientId);
  auto client = TlsSession::client(ctx, {sid("spiffe://cluster.local/ns/x/sa/y"), sid(kServerId)});
  REQUIRE(client.has_value());
  auto server = make_server(pki, pki.creds(kServerId));
  pump(*client, server);
  CHECK(client->state() == TlsState::Established);
}

TEST_CASE("a client refuses a server that is not an expected identity, and the server sees why") {
  TestPki pki;
  auto client = make_client(pki, pki.creds(kClientId), "spiffe://cluster.local/ns/srv/sa/someone-else");
  auto server = make_server(pki, pki.creds(kServerId));
  pump(client, server);
  check_refused(client, TlsFailure::UnexpectedIdentity);
  check_refused(server, TlsFailure::PeerRejectedCertificate);
  CHECK(server.alert_received() == SSL_AD_BAD_CERTIFICATE);
  CHECK(client.peer_identity().empty());
}

TEST_CASE("a server refuses a client from another trust domain even under the same CA") {
  TestPki pki;
  auto now = pki.clock.wall();
  auto foreign = load(leaf(pki, {"spiffe://evil.example/ns/a/sa/b"}, now - 1h, now + 1h), now);
  auto client = make_client(pki, foreign);
  auto server = make_server(pki, pki.creds(kServerId));
  pump(client, server);
  check_refused(server, TlsFailure::WrongTrustDomain);
  check_refused(client, TlsFailure::PeerRejectedCertificate);
  CHECK(client.alert_received() == SSL_AD_ACCESS_DENIED);
}

TEST_CASE("a server refuses an expired client certificate, judged by the injected clock") {
  TestPki pki;
  auto client_creds = pki.creds(kClientId, 1h);
  auto server_creds = pki.creds(kServerId, 48h);
  pki.clock.advance(2h);
  auto client = make_client(pki, client_creds);
  auto server = make_server(pki, server_creds);
  pump(client, server);
  check_refused(server, TlsFailure::CertExpired);
  CHECK(client.alert_received() == SSL_AD_CERTIFICATE_EXPIRED);
  check_refused(client, TlsFailure::PeerRejectedCertificate);
}

TEST_CASE("a server refuses a client certificate that is not yet valid") {
  TestPki pki;
  auto now = pki.clock.wall();
  auto future = load(leaf(pki, {std::string(kClientId)}, now + 1h, now + 5h), now + 2h);
  auto client = make_client(pki, future);
  auto server = make_server(pki, pki.creds(kServerId));
  pump(client, server);
  check_refused(server, TlsFailure::CertNotYetValid);
}

TEST_CASE("a server refuses a client whose chain leads to an unknown CA") {
  TestPki pki;
  TestPki stranger;  // same trust domain name, different root key
  auto c = *stranger.ca.issue(sid(kClientId), pki.clock.wall(), 1h);
  RawTlsPeer raw(RawPeerOptions{.cert_chain_pem = c.cert_chain_pem, .key_pem = c.key_pem});
  auto server = make_server(pki, pki.creds(kServerId));
  std::vector<uint8_t> plain;
  mesh::testing::raw_pump(raw, server, plain);
  check_refused(server, TlsFailure::UnknownCa);
  CHECK(raw.received().empty());
}

TEST_CASE("a client refuses a server from an unknown CA or with an expired certificate") {
  TestPki pki;
  TestPki stranger;
  SUBCASE("unknown CA") {
    auto client = make_client(pki, pki.creds(kClientId));
    auto server = make_server(stranger, stranger.creds(kServerId));
    pump(client, server);
    check_refused(client, TlsFailure::UnknownCa);
    check_refused(server, TlsFailure::PeerRejectedCertificate);
  }
  SUBCASE("expired") {
    auto server_creds = pki.creds(kServerId, 1h);
    auto client_creds = pki.creds(kClientId, 48h);
    pki.clock.advance(3h);
    auto client = make_client(pki, client_creds);
    auto server = make_server(pki, server_creds);
    pump(client, server);
    check_refused(client, TlsFailure::CertExpired);
  }
}

TEST_CASE("a server refuses a client certificate without a URI SAN") {
  TestPki pki;
  auto now = pki.clock.wall();
  auto bare = leaf(pki, {}, now - 1h, now + 1h);
  RawTlsPeer raw(RawPeerOptions{.cert_chain_pem = bare.cert_chain_pem, .key_pem = bare.key_pem});
  auto server = make_server(pki, pki.creds(kServerId));
  std::vector<uint8_t> plain;
  mesh::testing::raw_pump(raw, server, plain);
  check_refused(server, TlsFailure::MissingUriSan);
}

TEST_CASE("a server refuses a client certificate whose URI SAN is not a SPIFFE ID") {
  TestPki pki;
  auto now = pki.clock.wall();
  auto web = leaf(pki, {"https://cluster.local/ns/a/sa/b"}, now - 1h, now + 1h);
  RawTlsPeer raw(RawPeerOptions{.cert_chain_pem = web.cert_chain_pem, .key_pem = web.key_pem});
  auto server = make_server(pki, pki.creds(kServerId));
  std::vector<uint8_t> plain;
  mesh::testing::raw_pump(raw, server, plain);
  check_refused(server, TlsFailure::InvalidSpiffeId);
}

TEST_CASE("a server refuses a client that presents no certificate") {
  TestPki pki;
  RawTlsPeer raw(RawPeerOptions{});
  auto server = make_server(pki, pki.creds(kServerId));
  std::vector<uint8_t> plain;
  mesh::testing::raw_pump(raw, server, plain);
  check_refused(server, TlsFailure::NoPeerCertificate);
}

TEST_CASE("a server refuses a TLS 1.2-only client") {
  TestPki pki;
  auto c = *pki.ca.issue(sid(kClientId), pki.clock.wall(), 1h);
  RawTlsPeer raw(RawPeerOptions{.max_version = TLS1_2_VERSION, .cert_chain_pem = c.cert_chain_pem,
                                .key_pem = c.key_pem});
  auto server = make_server(pki, pki.creds(kServerId));
  std::vector<uint8_t> plain;
  mesh::testing::raw_pump(raw, server, plain);
  check_refused(server, TlsFailure::ProtocolVersion);
}

TEST_CASE("a server refuses a client without ALPN or without h2 among its protocols") {
  TestPki pki;
  auto c = *pki.ca.issue(sid(kClientId), pki.clock.wall(), 1h);
  SUBCASE("no ALPN") {
    RawTlsPeer raw(RawPeerOptions{.alpn = std::nullopt, .cert_chain_pem = c.cert_chain_pem, .key_pem = c.key_pem});
    auto server = make_server(pki, pki.creds(kServerId));
    std::vector<uint8_t> plain;
    mesh::testing::raw_pump(raw, server, plain);
    check_refused(server, TlsFailure::AlpnMissing);
  }
  SUBCASE("http/1.1 only") {
    RawTlsPeer raw(RawPeerOptions{.alpn = std::string("\x08http/1.1"), .cert_chain_pem = c.cert_chain_pem,
                                  .key_pem = c.key_pem});
    auto server = make_server(pki, pki.creds(kServerId));
    std::vector<uint8_t> plain;
    mesh::testing::raw_pump(raw, server, plain);
    check_refused(server, TlsFailure::AlpnMismatch);
  }
}

TEST_CASE("a client refuses a TLS 1.2-only server and a server that selects no ALPN") {
  TestPki pki;
  auto s = *pki.ca.issue(sid(kServerId), pki.clock.wall(), 1h);
  SUBCASE("TLS 1.2") {
    RawTlsPeer raw(RawPeerOptions{.server = true, .max_version = TLS1_2_VERSION,
                                  .cert_chain_pem = s.cert_chain_pem, .key_pem = s.key_pem});
    auto client = make_client(pki, pki.creds(kClientId));
    std::vector<uint8_t> plain;
    mesh::testing::raw_pump(raw, client, plain);
    check_refused(client, TlsFailure::ProtocolVersion);
  }
  SUBCASE("no ALPN selected") {
    RawTlsPeer raw(RawPeerOptions{.server = true, .alpn = std::nullopt, .cert_chain_pem = s.cert_chain_pem,
                                  .key_pem = s.key_pem});
    auto client = make_client(pki, pki.creds(kClientId));
    std::vector<uint8_t> plain;
    mesh::testing::raw_pump(raw, client, plain);
    check_refused(client, TlsFailure::AlpnMissing);
  }
  SUBCASE("a protocol the client did not offer") {
    RawTlsPeer raw(RawPeerOptions{.server = true, .alpn = std::string("\x08http/1.1"),
                                  .cert_chain_pem = s.cert_chain_pem, .key_pem = s.key_pem});
    auto client = make_client(pki, pki.creds(kClientId));
    std::vector<uint8_t> plain;
    mesh::testing::raw_pump(raw, client, plain);
    check_refused(client, TlsFailure::AlpnMismatch);
  }
}

TEST_CASE("plaintext sent to a TLS server is refused as not TLS") {
  TestPki pki;
  auto server = make_server(pki, pki.creds(kServerId));
  std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  std::vector<uint8_t> out(1024);
  server.receive({reinterpret_cast<const uint8_t*>(http.data()), http.size()}, out);
  check_refused(server, TlsFailure::NotTls);
}

TEST_CASE("a transport EOF during the handshake is an unexpected EOF") {
  TestPki pki;
  auto server = make_server(pki, pki.creds(kServerId));
  server.receive_eof();
  check_refused(server, TlsFailure::UnexpectedEof);
}

TEST_CASE("a refused client does not disturb another session on the same server context") {
  TestPki pki;
  auto server_ctx = pki.server_ctx(kServerId);
  TestPki stranger;
  auto c = *stranger.ca.issue(sid(kClientId), pki.clock.wall(), 1h);
  RawTlsPeer bad_client(RawPeerOptions{.cert_chain_pem = c.cert_chain_pem, .key_pem = c.key_pem});
  auto good_client = make_client(pki, pki.creds(kClientId));
  auto bad_server = *TlsSession::server(server_ctx);
  auto good_server = *TlsSession::server(server_ctx);
  // Interleave the two handshakes.
  std::vector<uint8_t> sink;
  mesh::testing::transfer(good_client, good_server, sink);
  mesh::testing::raw_pump(bad_client, bad_server, sink);
  pump(good_client, good_server);
  check_refused(bad_server, TlsFailure::UnknownCa);
  CHECK(good_server.state() == TlsState::Established);
  CHECK(good_client.state() == TlsState::Established);
}

TEST_CASE("a session keeps the context it started with after the context is replaced") {
  TestPki pki;
  auto server_ctx = pki.server_ctx(kServerId);
  auto client = make_client(pki, pki.creds(kClientId));
  auto server = *TlsSession::server(server_ctx);
  std::vector<uint8_t> sink;
  mesh::testing::transfer(client, server, sink);  // ClientHello in
  server_ctx = pki.server_ctx(kServerId);  // "rotation": the old context's last owner is the session
  pump(client, server);
  CHECK(server.state() == TlsState::Established);
  CHECK(&server.context() != server_ctx.get());
}

TEST_CASE("a session keeps working after being moved mid-handshake") {
  TestPki pki;
  auto client = make_client(pki, pki.creds(kClientId));
  auto server = make_server(pki, pki.creds(kServerId));
  std::vector<uint8_t> sink;
  mesh::testing::transfer(client, server, sink);
  TlsSession moved = std::move(server);
  pump(client, moved);
  CHECK(moved.state() == TlsState::Established);
  CHECK(moved.peer_identity().str() == kClientId);
}

TEST_CASE("sessions refuse a context of the wrong role and a client without expected identities") {
  TestPki pki;
  auto client_ctx = pki.client_ctx(kClientId);
  CHECK_FALSE(TlsSession::server(client_ctx).has_value());
  CHECK_FALSE(TlsSession::client(pki.server_ctx(kServerId), {sid(kServerId)}).has_value());
  CHECK_FALSE(TlsSession::client(client_ctx, {}).has_value());
}
