#include "daemon/identity/credential_manager.hpp"

#include <doctest/doctest.h>

#include "daemon/identity/cert_files.hpp"
#include "tests/support/hbone_link.hpp"
#include "tests/support/tls_temp_dir.hpp"
#include "tests/support/tls_test_pki.hpp"

using namespace mesh;
using namespace std::chrono_literals;
using identity::CredentialManager;
using mesh::testing::sid;
using mesh::testing::TempDir;
using mesh::testing::TestPki;

namespace {

constexpr std::string_view kId = "spiffe://cluster.local/ns/shop/sa/cart";

const identity::IdentityStatus& only(const CredentialManager& m) {
  static std::vector<identity::IdentityStatus> keep;
  keep = m.status();
  REQUIRE(keep.size() == 1);
  return keep.front();
}

void write_issued(TestPki& pki, const std::string& dir, std::string_view id, base::Duration validity = 24h) {
  auto issued = pki.ca.issue(sid(id), pki.clock.wall(), validity);
  REQUIRE(issued.has_value());
  REQUIRE(identity::save_issued(dir, *issued).has_value());
}

bool only_generation_at_least(const CredentialManager& m, std::string_view id, uint64_t n) {
  for (const auto& st : m.status()) {
    if (st.id.str() == id) return st.generation >= n;
  }
  return false;
}

// A handshake between a client of `c` and a server of `s`; returns the server's view of the
// client certificate's notAfter.
base::WallTime handshake(const identity::TlsContexts& c, const identity::TlsContexts& s, std::string_view server_id) {
  auto client = *tunnel::TlsSession::client(c.client, {sid(server_id)});
  auto server = *tunnel::TlsSession::server(s.server);
  testing::pump(client, server);
  REQUIRE(client.established());
  REQUIRE(server.established());
  return server.peer_not_after();
}

}  // namespace

TEST_CASE("the built-in CA issues a leaf per identity and renews it at half-life") {
  TestPki pki;
  CredentialManager m(pki.clock);
  m.set_ca(pki.ca);
  REQUIRE(m.add_issued(sid(kId)).has_value());
  auto first = m.contexts(sid(kId));
  REQUIRE(first.has_value());
  const identity::IdentityStatus st = only(m);
  CHECK(st.source == identity::CredentialSource::BuiltinCa);
  CHECK(st.generation == 1);
  CHECK(st.not_after - st.not_before == std::chrono::duration_cast<base::WallTime::duration>(24h + 5min));
  // Half of the validity counted from issuance, not from the backdated notBefore.
  CHECK(st.renew_at == pki.clock.wall() + std::chrono::duration_cast<base::WallTime::duration>(12h));
  base::Duration until = m.next_due() - pki.clock.now();
  CHECK(until == 12h);
  pki.clock.advance(until - 1s);
  CHECK(m.refresh().rotated == 0);
  pki.clock.advance(1s);
  auto r = m.refresh();
  CHECK(r.rotated == 1);
  CHECK(r.failed == 0);
  auto second = m.contexts(sid(kId));
  CHECK(second->client != first->client);
  CHECK(only(m).generation == 2);
  CHECK(only(m).serial != st.serial);
}

TEST_CASE("without a CA an issued identity is refused") {
  TestPki pki;
  CredentialManager m(pki.clock);
  auto st = m.add_issued(sid(kId));
  REQUIRE_FALSE(st.has_value());
  CHECK(m.next_due() == base::MonoTime::max());
  CHECK_FALSE(m.contexts(sid(kId)).has_value());
}

TEST_CASE("a failed renewal keeps the old leaf, reports the error and retries later") {
  TestPki pki;
  auto short_ca = *tunnel::CertificateAuthority::create_root("cluster.local", pki.clock.wall(), 30h);
  CredentialManager m(pki.clock);
  m.set_ca(short_ca);
  REQUIRE(m.add_issued(sid(kId)).has_value());
  auto before = m.contexts(sid(kId));
  pki.clock.advance(31h);  // the CA itself has expired
  auto r = m.refresh();
  CHECK(r.failed == 1);
  CHECK(m.contexts(sid(kId))->client == before->client);
  CHECK_FALSE(only(m).last_error.empty());
  CHECK(m.next_due() - pki.clock.now() == 30s);
  m.set_ca(pki.ca);  // a new CA is configured
  pki.clock.advance(30s);
  CHECK(m.refresh().rotated == 1);
  CHECK(only(m).last_error.empty());
}

TEST_CASE("a PEM directory is loaded, re-read only when its files change, and rotated") {
  TestPki pki;
  TempDir dir;
  write_issued(pki, dir.path(), kId);
  CredentialManager m(pki.clock);
  auto id = m.add_directory(dir.path());
  REQUIRE(id.has_value());
  CHECK(id->str() == kId);
  CHECK(m.watched_directories() == std::vector<std::string>{dir.path()});
  CHECK(m.reload().rotated == 0);  // nothing changed
  auto old = m.contexts(*id);
  write_issued(pki, dir.path(), kId);
  auto r = m.reload();
  CHECK(r.rotated == 1);
  CHECK(m.contexts(*id)->server != old->server);
  CHECK(only(m).generation == 2);
}

TEST_CASE("invalid new files keep the old credentials until valid ones appear") {
  TestPki pki;
  TempDir dir;
  write_issued(pki, dir.path(), kId);
  CredentialManager m(pki.clock);
  auto id = *m.add_directory(dir.path());
  auto old = m.contexts(id);
  // A writer replaced the certificate but not yet the key.
  auto next = *pki.ca.issue(sid(kId), pki.clock.wall(), 24h);
  REQUIRE(identity::write_file_atomic(identity::join(dir.path(), identity::kCertChainFile), next.cert_chain_pem, 0644));
  auto r = m.reload();
  CHECK(r.failed == 1);
  CHECK(m.contexts(id)->client == old->client);
  CHECK(only(m).last_error.find("does not match") != std::string::npos);
  REQUIRE(identity::write_file_atomic(identity::join(dir.path(), identity::kKeyFile), next.key_pem, 0600));
  CHECK(m.reload().rotated == 1);
  CHECK(only(m).last_error.empty());
}

TEST_CASE("a directory whose new certificate names another identity is refused") {
  TestPki pki;
  TempDir dir;
  write_issued(pki, dir.path(), kId);
  CredentialManager m(pki.clock);
  auto id = *m.add_directory(dir.path());
  write_issued(pki, dir.path(), "spiffe://cluster.local/ns/other/sa/x");
  CHECK(m.reload().failed == 1);
  CHECK(m.contexts(id).has_value());
  CHECK(only(m).id.str() == kId);
}

TEST_CASE("directories are polled even without a reload call") {
  TestPki pki;
  TempDir dir;
  write_issued(pki, dir.path(), kId);
  CredentialManager m(pki.clock, identity::CredentialOptions{.directory_poll = 10s});
  auto id = *m.add_directory(dir.path());
  CHECK(m.next_due() - pki.clock.now() == 10s);
  write_issued(pki, dir.path(), kId);
  CHECK(m.refresh().rotated == 0);  // not due yet
  pki.clock.advance(10s);
  CHECK(m.refresh().rotated == 1);
  CHECK(m.next_due() - pki.clock.now() == 10s);
  (void)id;
}

TEST_CASE("adding the same identity twice or an invalid directory fails") {
  TestPki pki;
  TempDir dir;
  write_issued(pki, dir.path(), kId);
  CredentialManager m(pki.clock);
  m.set_ca(pki.ca);
  REQUIRE(m.add_directory(dir.path()).has_value());
  CHECK_FALSE(m.add_directory(dir.path()).has_value());
  CHECK_FALSE(m.add_issued(sid(kId)).has_value());
  CHECK_FALSE(m.add_directory(dir.sub("missing")).has_value());
  m.remove(sid(kId));
  CHECK(m.status().empty());
}

TEST_CASE("new handshakes use the rotated certificate while an established tunnel carries on") {
  TestPki pki;
  CredentialManager m(pki.clock);
  m.set_ca(pki.ca);
  REQUIRE(m.add_issued(sid(kId)).has_value());
  REQUIRE(m.add_issued(sid("spiffe://cluster.local/ns/db/sa/server")).has_value());
  auto server_ctx = *m.contexts(sid("spiffe://cluster.local/ns/db/sa/server"));
  // A long transfer on an HBONE tunnel made with the first leaf.
  auto ctls = *tunnel::TlsSession::client(m.contexts(sid(kId))->client, {sid("spiffe://cluster.local/ns/db/sa/server")});
  auto stls = *tunnel::TlsSession::server(server_ctx.server);
  tunnel::hbone::TlsSink csink(ctls), ssink(stls);
  auto client = std::move(*tunnel::hbone::HboneClient::create(csink, pki.clock));
  auto server = std::move(*tunnel::hbone::HboneServer::create(ssink, pki.clock));
  auto sync = [&] {
    for (int i = 0; i < 200; ++i) {
      client->flush();
      ctls.flush();
      server->flush();
      stls.flush();
      std::vector<uint8_t> up, down;
      size_t moved = testing::transfer(ctls, stls, up) + testing::transfer(stls, ctls, down);
      if (!up.empty()) REQUIRE(server->receive(up).has_value());
      if (!down.empty()) REQUIRE(client->receive(down).has_value());
      if (moved == 0) return;
    }
  };
  auto id = *client->open(tunnel::hbone::ConnectRequest{.authority = "10.0.0.5:5432"});
  sync();
  REQUIRE(server->respond(id, 200).has_value());
  sync();
  auto first_leaf_expiry = stls.peer_not_after();
  size_t received = 0;
  std::vector<uint8_t> chunk(256 * 1024, 'q');
  for (int step = 0; step < 40; ++step) {
    client->write(id, chunk);
    pki.clock.advance(30min);  // 20 hours in all: the 24 h leaf is renewed at ~12 h
    m.refresh();
    sync();
    received += server->readable(id);
    server->consume(id, server->readable(id));
  }
  CHECK(received == 40 * chunk.size());
  CHECK(client->failure() == tunnel::http::ConnectionFailure::None);
  CHECK(only_generation_at_least(m, kId, 2));
  // A new connection presents the renewed leaf.
  auto fresh = handshake(*m.contexts(sid(kId)), *m.contexts(sid("spiffe://cluster.local/ns/db/sa/server")),
                         "spiffe://cluster.local/ns/db/sa/server");
  CHECK(fresh > first_leaf_expiry);
}

TEST_CASE("a leaf shorter than the notBefore backdate is renewed at its half-life, not at once") {
  // notBefore lies five minutes in the past: counting half-life from it renewed a 10 s leaf
  // at once, and again at every refresh (a busy loop on the control thread).
  TestPki pki;
  CredentialManager m(pki.clock, identity::CredentialOptions{.leaf_validity = 10s});
  m.set_ca(pki.ca);
  REQUIRE(m.add_issued(sid(kId)).has_value());
  CHECK(m.next_due() - pki.clock.now() == 5s);
  CHECK(m.refresh().rotated == 0);
  for (uint64_t generation = 2; generation <= 4; ++generation) {
    pki.clock.advance(5s);
    CHECK(m.refresh().rotated == 1);
    CHECK(m.refresh().rotated == 0);
    CHECK(only(m).generation == generation);
    CHECK(m.next_due() - pki.clock.now() == 5s);
  }
}
