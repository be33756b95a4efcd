#include "tunnel/tls/tls_context.hpp"

#include <openssl/ssl.h>

#include <doctest/doctest.h>

#include "tests/support/tls_test_pki.hpp"

using namespace mesh;
using tunnel::TlsRole;

TEST_CASE("a context reports its role, identity and trust domain") {
  testing::TestPki pki;
  auto ctx = pki.server_ctx("spiffe://cluster.local/ns/a/sa/b");
  CHECK(ctx->role() == TlsRole::Server);
  CHECK(ctx->identity().str() == "spiffe://cluster.local/ns/a/sa/b");
  CHECK(ctx->trust_domain() == "cluster.local");
  CHECK(&ctx->clock() == &pki.clock);
}

TEST_CASE("a context allows TLS 1.3 only and never resumes sessions") {
  testing::TestPki pki;
  for (auto role : {TlsRole::Client, TlsRole::Server}) {
    auto ctx = pki.context(role, pki.creds("spiffe://cluster.local/ns/a/sa/b"));
    SSL_CTX* native = ctx->native();
    CHECK(SSL_CTX_get_min_proto_version(native) == TLS1_3_VERSION);
    CHECK(SSL_CTX_get_max_proto_version(native) == TLS1_3_VERSION);
    CHECK(SSL_CTX_get_session_cache_mode(native) == SSL_SESS_CACHE_OFF);
    CHECK((SSL_CTX_get_options(native) & SSL_OP_NO_TICKET) != 0);
  }
}

TEST_CASE("a server writes nothing after the client's Finished: no session ticket") {
  testing::TestPki pki;
  auto client = *tunnel::TlsSession::client(pki.client_ctx("spiffe://cluster.local/ns/a/sa/c"),
                                            {testing::sid("spiffe://cluster.local/ns/a/sa/s")});
  auto server = *tunnel::TlsSession::server(pki.server_ctx("spiffe://cluster.local/ns/a/sa/s"));
  std::vector<uint8_t> sink;
  CHECK(testing::transfer(client, server, sink) > 0);  // ClientHello
  CHECK(testing::transfer(server, client, sink) > 0);  // ServerHello .. Finished
  REQUIRE(client.established());
  CHECK(testing::transfer(client, server, sink) > 0);  // Certificate .. Finished
  REQUIRE(server.established());
  CHECK(server.output().size() == 0);  // a NewSessionTicket would be queued here
}
