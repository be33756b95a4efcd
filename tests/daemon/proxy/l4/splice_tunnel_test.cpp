// Splices over HBONE end to end on one worker, both hops in-process as on a single meshd node:
// client → outbound listener → pooled HBONE tunnel (mTLS) → 15008 listener → upstream, all on
// 127.0.0.1. Covers how streams end: every byte before a half-close, and answers to refused
// CONNECTs, must reach the other side before the stream is released.
#include "daemon/proxy/l4/splice.hpp"

#include <atomic>

#include "tests/daemon/proxy/hbone_fixture.hpp"

using namespace mesh;
using namespace mesh::testing;

namespace {

size_t rejected(const proxy::RelayStats& s, proxy::RejectReason r) {
  return s.rejected[static_cast<size_t>(r)].value();
}
size_t closed(const proxy::RelayStats& s, proxy::CloseReason r) { return s.closed[static_cast<size_t>(r)].value(); }

}  // namespace

TEST_CASE("an upstream that answers after the client's half-close and closes gets every byte back to the client") {
  // Regression: the inbound relay released its stream as soon as both socket directions were
  // done, which reset the stream and dropped the answer still queued behind flow control.
  const std::string request = pattern(4 << 20, 1);
  Upstream up([&](int fd) {
    std::string got;
    REQUIRE(read_to_eof(fd, got));
    CHECK(got == request);
    CHECK(send_all(fd, got));  // then closes: EOF right behind 4 MiB the tunnel still holds
  });
  HboneFixture f(up.addr);
  base::Fd c = connect_to(f.listen);
  REQUIRE(c);
  std::thread sender([&] {
    CHECK(send_all(c.get(), request));
    ::shutdown(c.get(), SHUT_WR);
  });
  std::string back;
  CHECK(read_to_eof(c.get(), back));  // EOF, not a reset
  sender.join();
  CHECK(back.size() == request.size());
  CHECK(back == request);
  CHECK(eventually([&] { return closed(*f.hbone_stats, proxy::CloseReason::Normal) == 1; }));
  CHECK(eventually([&] { return closed(*f.out_stats, proxy::CloseReason::Normal) == 1; }));
  CHECK(closed(*f.out_stats, proxy::CloseReason::UpstreamReset) == 0);
}

TEST_CASE("after the upstream half-closes, the client's last bytes and its half-close still arrive intact") {
  // The same on the outbound relay: the upstream ended first; the client then sends 2 MiB
  // and EOF, which were reset away when the stream was released at the client's EOF.
  const std::string push = pattern(3 << 20, 2), answer = pattern(2 << 20, 3);
  std::string upstream_got;
  bool upstream_eof = false;
  std::atomic<bool> upstream_done{false};
  Upstream up([&](int fd) {
    CHECK(send_all(fd, push));
    ::shutdown(fd, SHUT_WR);
    upstream_eof = read_to_eof(fd, upstream_got);
    upstream_done = true;
  });
  HboneFixture f(up.addr);
  base::Fd c = connect_to(f.listen);
  REQUIRE(c);
  std::string got;
  CHECK(read_to_eof(c.get(), got));
  CHECK(got == push);
  CHECK(send_all(c.get(), answer));
  ::shutdown(c.get(), SHUT_WR);
  std::string rest;
  CHECK(read_to_eof(c.get(), rest));
  REQUIRE(eventually([&] { return upstream_done.load(); }));
  CHECK(upstream_eof);
  CHECK(upstream_got.size() == answer.size());
  CHECK(upstream_got == answer);
}

TEST_CASE("a CONNECT whose upstream refuses is answered 503, not reset") {
  // Regression: the inbound relay answered 503 and released the stream in the same breath;
  // the release's RST_STREAM went out instead of the answer, so the client saw a failed
  // tunnel rather than "peer unavailable".
  base::SocketAddr closed_port;
  {
    auto l = io::listen_tcp(base::SocketAddr::parse("127.0.0.1:0").value(), {.reuse_port = false});
    REQUIRE(l);
    closed_port = io::local_address(l->get()).value();
  }  // closed: connecting there is refused
  HboneFixture f(closed_port);
  base::Fd c = connect_to(f.listen);
  REQUIRE(c);
  std::string got;
  CHECK(read_to_eof(c.get(), got));  // closed (FIN), as a refused plain upstream is
  CHECK(got.empty());
  CHECK(eventually([&] { return rejected(*f.hbone_stats, proxy::RejectReason::UpstreamRefused) == 1; }));
  CHECK(eventually([&] { return rejected(*f.out_stats, proxy::RejectReason::PeerUnavailable) == 1; }));
  CHECK(rejected(*f.out_stats, proxy::RejectReason::TunnelFailed) == 0);
}

TEST_CASE("an upstream reset travels back through the tunnel as a reset, counted on both hops") {
  Upstream up([](int fd) {
    char b;
    (void)::recv(fd, &b, 1, 0);
    io::set_reset_on_close(fd);
  });
  HboneFixture f(up.addr);
  base::Fd c = connect_to(f.listen);
  REQUIRE(send_all(c.get(), "x"));
  std::string got;
  CHECK_FALSE(read_to_eof(c.get(), got));
  CHECK(errno == ECONNRESET);
  CHECK(eventually([&] { return closed(*f.hbone_stats, proxy::CloseReason::UpstreamReset) == 1; }));
  CHECK(eventually([&] { return closed(*f.out_stats, proxy::CloseReason::UpstreamReset) == 1; }));
}

TEST_CASE("an idle tunnelled connection ends with FIN to the application and is counted as idle") {
  std::atomic<bool> upstream_done{false};
  Upstream up([&](int fd) {
    std::string ignored;
    read_to_eof(fd, ignored);  // EOF or reset: either way the tunnel let go of it
    upstream_done = true;
  });
  HboneFixture f(up.addr, 300ms);
  base::Fd c = connect_to(f.listen);
  REQUIRE(c);
  auto start = std::chrono::steady_clock::now();
  std::string got;
  CHECK(read_to_eof(c.get(), got));  // FIN, as the socket relay does
  // The timer runs from the loop's clock as of the iteration that opened the flow, which may
  // be a little older than this thread's `start` on a loaded machine: a margin, not 0.
  CHECK(std::chrono::steady_clock::now() - start >= 250ms);
  CHECK(eventually([&] { return upstream_done.load(); }));
  CHECK(eventually([&] {
    return closed(*f.out_stats, proxy::CloseReason::IdleTimeout) + closed(*f.hbone_stats, proxy::CloseReason::IdleTimeout) >= 1;
  }));
  CHECK(eventually([&] { return f.out_stats->active.value() == 0 && f.hbone_stats->active.value() == 0; }));
}
