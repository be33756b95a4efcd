// LocalTunnels: which worker dialled a node-local tunnel, and where its accepted end goes.
#include "daemon/proxy/hbone/local_tunnels.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <vector>

namespace mesh::proxy {
namespace {

base::SocketAddr addr(const char* text) { return *base::SocketAddr::parse(text); }

constexpr auto kOther = LocalTunnels::Placement::OtherWorker;
constexpr auto kSame = LocalTunnels::Placement::SameWorker;

TEST_CASE("a tunnel this daemon dialled is found by the address it was accepted on and its source port") {
  LocalTunnels t(2, kOther, {});
  t.dialled(addr("198.18.0.2:15008"), 40001, 1);
  CHECK(t.dialler(addr("198.18.0.2:15008"), addr("198.18.0.1:40001")) == 1u);
  CHECK_FALSE(t.dialler(addr("198.18.0.2:15008"), addr("198.18.0.1:40002")));   // another source port
  CHECK_FALSE(t.dialler(addr("198.18.0.3:15008"), addr("198.18.0.1:40001")));   // another destination
  t.dialled(addr("[2001:db8::2]:15008"), 40001, 0);
  CHECK(t.dialler(addr("[2001:db8::2]:15008"), addr("[2001:db8::1]:40001")) == 0u);
  t.closed(addr("198.18.0.2:15008"), 40001);
  CHECK_FALSE(t.dialler(addr("198.18.0.2:15008"), addr("198.18.0.1:40001")));
  CHECK(t.dialler(addr("[2001:db8::2]:15008"), addr("[2001:db8::1]:40001")) == 0u);
}

TEST_CASE("placement 'other': only a tunnel accepted by the worker that dialled it moves, to another worker") {
  LocalTunnels one(1, kOther, {});
  CHECK_FALSE(one.move_to(0, 0u));  // nowhere to go
  LocalTunnels two(2, kOther, {});
  CHECK(two.move_to(0, 0u) == 1u);
  CHECK(two.move_to(1, 1u) == 0u);
  CHECK_FALSE(two.move_to(1, 0u));          // already apart
  CHECK_FALSE(two.move_to(0, std::nullopt));  // from another node
  LocalTunnels three(3, kOther, {});
  CHECK(three.move_to(2, 2u) == 0u);
}

TEST_CASE("placement 'same': a tunnel accepted by another worker moves to the one that dialled it") {
  LocalTunnels one(1, kSame, {});
  CHECK_FALSE(one.move_to(0, 0u));
  LocalTunnels two(2, kSame, {});
  CHECK_FALSE(two.move_to(0, 0u));  // already together
  CHECK_FALSE(two.move_to(1, 1u));
  CHECK(two.move_to(1, 0u) == 0u);
  CHECK(two.move_to(0, 1u) == 1u);
  CHECK_FALSE(two.move_to(0, std::nullopt));  // from another node
  CHECK_FALSE(two.move_to(0, 5u));            // not a worker of this daemon
  LocalTunnels three(3, kSame, {});
  CHECK(three.move_to(2, 0u) == 0u);
}

TEST_CASE("handoff passes the socket to the function the daemon gave") {
  std::vector<std::pair<unsigned, uint64_t>> calls;
  int fd_seen = -1;
  LocalTunnels t(2, kOther, [&](unsigned to, uint64_t listener, base::Fd fd) {
    calls.emplace_back(to, listener);
    fd_seen = fd.get();
  });
  base::Fd fd(::dup(0));
  int raw = fd.get();
  t.handoff(1, 7, std::move(fd));
  REQUIRE(calls.size() == 1);
  CHECK(calls[0] == std::pair<unsigned, uint64_t>(1, 7));
  CHECK(fd_seen == raw);
}

}  // namespace
}  // namespace mesh::proxy
