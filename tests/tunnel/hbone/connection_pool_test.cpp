#include "tunnel/hbone/connection_pool.hpp"

#include <doctest/doctest.h>

#include "tests/support/tls_test_pki.hpp"

using namespace mesh;
using namespace std::chrono_literals;
namespace hb = mesh::tunnel::hbone;
using Kind = hb::PoolDecision::Kind;
using Wait = hb::PoolDecision::WaitReason;

namespace {
hb::PoolKey key(const char* dst_ip) {
  return {testing::sid("spiffe://cluster.local/ns/a/sa/src"), {testing::sid("spiffe://cluster.local/ns/b/sa/dst")},
          *base::SocketAddr::parse(std::string(dst_ip) + ":15008")};
}
}  // namespace

TEST_CASE("the first flow dials, the next ones wait for that dial and then share the connection") {
  base::FakeClock clock;
  hb::ConnectionPool pool(clock);
  auto first = pool.acquire(key("10.0.0.1"));
  REQUIRE(first.kind == Kind::Connect);
  auto second = pool.acquire(key("10.0.0.1"));
  CHECK(second.kind == Kind::Wait);
  CHECK(second.wait == Wait::KeyDialing);
  pool.connected(first.conn, 1000);
  auto third = pool.acquire(key("10.0.0.1"));
  REQUIRE(third.kind == Kind::Use);
  CHECK(third.conn == first.conn);
  CHECK(pool.streams(first.conn) == 2);
  CHECK(pool.handshakes_in_flight() == 0);
}

TEST_CASE("a full connection makes the pool open another, capped by the server's stream limit") {
  base::FakeClock clock;
  hb::ConnectionPool pool(clock);
  auto c1 = pool.acquire(key("10.0.0.1"));
  pool.connected(c1.conn, 1000);
  for (int i = 1; i < 100; ++i) REQUIRE(pool.acquire(key("10.0.0.1")).kind == Kind::Use);
  auto c2 = pool.acquire(key("10.0.0.1"));
  REQUIRE(c2.kind == Kind::Connect);
  CHECK(c2.conn != c1.conn);
  pool.connected(c2.conn, 2);  // the server allows only two streams
  CHECK(pool.acquire(key("10.0.0.1")).kind == Kind::Use);
  CHECK(pool.acquire(key("10.0.0.1")).kind == Kind::Connect);
  CHECK(pool.acquire(key("10.0.0.1")).kind == Kind::Wait);  // everything full, a dial in flight
  pool.release_stream(c1.conn);  // room again on the first connection: use it at once
  auto again = pool.acquire(key("10.0.0.1"));
  CHECK(again.kind == Kind::Use);
  CHECK(again.conn == c1.conn);
}

TEST_CASE("different destinations or sources never share a connection") {
  base::FakeClock clock;
  hb::ConnectionPool pool(clock);
  auto a = pool.acquire(key("10.0.0.1"));
  auto b = pool.acquire(key("10.0.0.2"));
  hb::PoolKey other_src = key("10.0.0.1");
  other_src.source = testing::sid("spiffe://cluster.local/ns/a/sa/other");
  auto c = pool.acquire(other_src);
  CHECK(a.kind == Kind::Connect);
  CHECK(b.kind == Kind::Connect);
  CHECK(c.kind == Kind::Connect);
  CHECK(pool.connections() == 3);
  CHECK(*pool.key_of(b.conn) == key("10.0.0.2"));
}

TEST_CASE("concurrent handshakes are bounded node-wide") {
  base::FakeClock clock;
  hb::ConnectionPool pool(clock, hb::PoolOptions{.max_handshakes = 2});
  auto a = pool.acquire(key("10.0.0.1"));
  auto b = pool.acquire(key("10.0.0.2"));
  auto c = pool.acquire(key("10.0.0.3"));
  CHECK(c.kind == Kind::Wait);
  CHECK(c.wait == Wait::HandshakeLimit);
  pool.connected(a.conn, 100);
  CHECK(pool.acquire(key("10.0.0.3")).kind == Kind::Connect);
  pool.failed(b.conn);
  CHECK(pool.handshakes_in_flight() == 1);
}

TEST_CASE("a failed connection is forgotten and the next flow dials again") {
  base::FakeClock clock;
  hb::ConnectionPool pool(clock);
  auto a = pool.acquire(key("10.0.0.1"));
  pool.failed(a.conn);
  CHECK(pool.connections() == 0);
  auto b = pool.acquire(key("10.0.0.1"));
  CHECK(b.kind == Kind::Connect);
  CHECK(b.conn != a.conn);
}

TEST_CASE("a connection that received GOAWAY takes no new streams and goes once they end") {
  base::FakeClock clock;
  hb::ConnectionPool pool(clock);
  auto a = pool.acquire(key("10.0.0.1"));
  pool.connected(a.conn, 100);
  REQUIRE(pool.acquire(key("10.0.0.1")).kind == Kind::Use);
  pool.draining(a.conn);
  auto next = pool.acquire(key("10.0.0.1"));
  CHECK(next.kind == Kind::Connect);
  pool.release_stream(a.conn);
  CHECK(pool.key_of(a.conn) != nullptr);
  pool.release_stream(a.conn);
  CHECK(pool.key_of(a.conn) == nullptr);
}

TEST_CASE("connections idle for the timeout are handed back for closing") {
  base::FakeClock clock;
  hb::ConnectionPool pool(clock, hb::PoolOptions{.idle_timeout = 5min});
  auto a = pool.acquire(key("10.0.0.1"));
  pool.connected(a.conn, 100);
  CHECK(pool.next_expiry() == base::MonoTime::max());  // busy
  pool.release_stream(a.conn);
  CHECK(pool.next_expiry() == clock.now() + 5min);
  clock.advance(4min);
  CHECK(pool.expire_idle().empty());
  REQUIRE(pool.acquire(key("10.0.0.1")).kind == Kind::Use);  // reuse resets idleness
  pool.release_stream(a.conn);
  clock.advance(5min);
  CHECK(pool.expire_idle() == std::vector<hb::ConnId>{a.conn});
  CHECK(pool.connections() == 0);
}
