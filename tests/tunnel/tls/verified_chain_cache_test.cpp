#include "tunnel/tls/verified_chain_cache.hpp"

#include <doctest/doctest.h>

#include "tests/support/tls_test_pki.hpp"

using namespace mesh;
using namespace std::chrono_literals;
using tunnel::VerifiedChainCache;

namespace {
VerifiedChainCache::Digest key(uint8_t b) {
  VerifiedChainCache::Digest d{};
  d.fill(b);
  return d;
}
}  // namespace

TEST_CASE("a cached chain is found only inside its validity window") {
  base::FakeClock clock;
  VerifiedChainCache cache;
  auto now = clock.wall();
  cache.insert(key(1), {testing::sid("spiffe://td/ns/a/sa/b"), now - 1h, now + 1h});
  auto hit = cache.find(key(1), now);
  REQUIRE(hit.has_value());
  CHECK(hit->identity.str() == "spiffe://td/ns/a/sa/b");
  CHECK_FALSE(cache.find(key(1), now + 2h).has_value());
  CHECK_FALSE(cache.find(key(1), now - 2h).has_value());
  CHECK_FALSE(cache.find(key(2), now).has_value());
}

TEST_CASE("the cache evicts its oldest entries beyond its capacity") {
  base::FakeClock clock;
  VerifiedChainCache cache(3);
  auto now = clock.wall();
  for (uint8_t i = 0; i < 5; ++i) cache.insert(key(i), {testing::sid("spiffe://td/x"), now - 1h, now + 1h});
  CHECK(cache.size() == 3);
  CHECK_FALSE(cache.find(key(0), now).has_value());
  CHECK_FALSE(cache.find(key(1), now).has_value());
  CHECK(cache.find(key(4), now).has_value());
  cache.insert(key(4), {testing::sid("spiffe://td/y"), now - 1h, now + 1h});  // replace, no growth
  CHECK(cache.size() == 3);
  CHECK(cache.find(key(4), now)->identity.str() == "spiffe://td/y");
}

TEST_CASE("a returning peer is served from the context's cache, still under every identity rule") {
  testing::TestPki pki;
  auto client_creds = pki.creds("spiffe://cluster.local/ns/a/sa/client", 2h);
  auto server_ctx = pki.server_ctx("spiffe://cluster.local/ns/b/sa/server");
  auto client_ctx = pki.context(tunnel::TlsRole::Client, client_creds);
  auto handshake = [&](std::string_view expect) {
    auto c = *tunnel::TlsSession::client(client_ctx, {testing::sid(expect)});
    auto s = *tunnel::TlsSession::server(server_ctx);
    testing::pump(c, s);
    return std::pair{c.failure(), s.failure()};
  };
  CHECK(handshake("spiffe://cluster.local/ns/b/sa/server").first == tunnel::TlsFailure::None);
  CHECK(server_ctx->chain_cache().size() == 1);
  CHECK(client_ctx->chain_cache().size() == 1);
  CHECK(handshake("spiffe://cluster.local/ns/b/sa/server").second == tunnel::TlsFailure::None);
  CHECK(server_ctx->chain_cache().size() == 1);  // the same chain: a hit, not a new entry
  // The expected-identity check runs on cached chains too.
  CHECK(handshake("spiffe://cluster.local/ns/b/sa/other").first == tunnel::TlsFailure::UnexpectedIdentity);
  // Past the client certificate's notAfter the cached entry no longer applies.
  pki.clock.advance(3h);
  CHECK(handshake("spiffe://cluster.local/ns/b/sa/server").second == tunnel::TlsFailure::CertExpired);
}
