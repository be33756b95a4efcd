#include "daemon/proxy/l4/splice.hpp"

#include <sys/ioctl.h>

#include <random>

#include "tests/daemon/proxy/relay_fixture.hpp"

using namespace mesh;
using namespace mesh::testing;

TEST_CASE("bytes are relayed both ways unchanged, larger than the buffers") {
  std::string payload(3 * 1024 * 1024 + 17, '\0');
  std::mt19937 rng(7);
  for (auto& c : payload) c = static_cast<char>(rng());
  // The upstream echoes everything until EOF, then closes.
  Upstream up([](int fd) {
    char buf[65536];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) send_all(fd, std::string_view(buf, static_cast<size_t>(n)));
  });
  RelayFixture relay(up.addr);
  base::Fd c = connect_to(relay.listen);
  REQUIRE(c);
  std::thread writer([&] {
    send_all(c.get(), payload);
    ::shutdown(c.get(), SHUT_WR);
  });
  std::string echoed;
  CHECK(read_to_eof(c.get(), echoed));
  writer.join();
  CHECK(echoed.size() == payload.size());
  CHECK(echoed == payload);
  CHECK(eventually([&] { return relay.stats().active.value() == 0; }));
  CHECK(relay.stats().opened.value() == 1);
  CHECK(relay.stats().bytes_to_upstream.value() == payload.size());
  CHECK(relay.stats().bytes_to_downstream.value() == payload.size());
  CHECK(relay.stats().closed[static_cast<size_t>(proxy::CloseReason::Normal)].value() == 1);
}

TEST_CASE("a half-close reaches the upstream and the other direction keeps flowing") {
  // The upstream reads to EOF first, then answers and closes: only works if our FIN got through
  // while its direction stayed open.
  Upstream up([](int fd) {
    std::string req;
    if (!read_to_eof(fd, req)) return;
    send_all(fd, "got " + std::to_string(req.size()) + " bytes");
  });
  RelayFixture relay(up.addr);
  base::Fd c = connect_to(relay.listen);
  REQUIRE(send_all(c.get(), std::string(1000, 'x')));
  ::shutdown(c.get(), SHUT_WR);
  std::string reply;
  CHECK(read_to_eof(c.get(), reply));
  CHECK(reply == "got 1000 bytes");
}

TEST_CASE("an upstream that refuses is counted and the client is closed, as Envoy and ztunnel do") {
  // Reserve a port with nothing listening on it.
  base::SocketAddr dead;
  {
    auto l = io::listen_tcp(base::SocketAddr::parse("127.0.0.1:0").value(), {.reuse_port = false});
    dead = io::local_address(l->get()).value();
  }
  RelayFixture relay(dead);
  base::Fd c = connect_to(relay.listen);
  REQUIRE(c);
  std::string got;
  CHECK(read_to_eof(c.get(), got));  // FIN, not a reset
  CHECK(got.empty());
  CHECK(eventually([&] {
    return relay.stats().rejected[static_cast<size_t>(proxy::RejectReason::UpstreamRefused)].value() == 1;
  }));
  CHECK(eventually([&] { return relay.stats().active.value() == 0 && relay.budget.active() == 0; }));
}

TEST_CASE("an upstream reset is propagated to the client as a reset") {
  Upstream up([](int fd) {
    char b;
    (void)::recv(fd, &b, 1, 0);
    io::set_reset_on_close(fd);
  });
  RelayFixture relay(up.addr);
  base::Fd c = connect_to(relay.listen);
  REQUIRE(send_all(c.get(), "x"));
  std::string got;
  bool clean_eof = read_to_eof(c.get(), got);
  CHECK_FALSE(clean_eof);
  CHECK(errno == ECONNRESET);
  CHECK(eventually([&] {
    return relay.stats().closed[static_cast<size_t>(proxy::CloseReason::UpstreamReset)].value() == 1;
  }));
}

TEST_CASE("an idle connection is closed after the idle timeout, an active one is not") {
  Upstream up([](int fd) {
    std::string ignored;
    read_to_eof(fd, ignored);
  }, 2);
  RelayFixture relay(up.addr, 300ms);
  base::Fd idle = connect_to(relay.listen);
  base::Fd busy = connect_to(relay.listen);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(60ms);
    REQUIRE(send_all(busy.get(), "ping"));
  }
  std::string got;
  CHECK(read_to_eof(idle.get(), got));
  CHECK(std::chrono::steady_clock::now() - start >= 300ms);
  CHECK(relay.stats().closed[static_cast<size_t>(proxy::CloseReason::IdleTimeout)].value() == 1);
  CHECK(send_all(busy.get(), "still here"));
  ::shutdown(busy.get(), SHUT_WR);
}

TEST_CASE("a client that sends while the buffer ring is exhausted still gets everything through") {
  // 2 receive buffers for many concurrent streams: receives wait for recycled buffers.
  constexpr int kClients = 8;
  Upstream up([](int fd) {
    char buf[65536];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) send_all(fd, std::string_view(buf, static_cast<size_t>(n)));
  }, kClients);
  RelayFixture relay(up.addr, std::chrono::hours(1), 1000, std::chrono::seconds(5), 2);
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      base::Fd c = connect_to(relay.listen);
      std::string payload(200000, static_cast<char>('a' + i));
      std::thread w([&] {
        send_all(c.get(), payload);
        ::shutdown(c.get(), SHUT_WR);
      });
      std::string back;
      if (read_to_eof(c.get(), back) && back == payload) ++ok;
      w.join();
    });
  }
  for (auto& t : clients) t.join();
  CHECK(ok.load() == kClients);
  CHECK(relay.worker->worker_stats().buffer_waits.value() > 0);
}
