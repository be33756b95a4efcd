#include "daemon/datapath/listeners.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <doctest/doctest.h>

using namespace mesh::datapath;

TEST_CASE("pod listeners are three dual-stack listening sockets") {
  auto l = create_pod_listeners({0, 0, 0});  // kernel-chosen ports: no clash with anything
  REQUIRE(l);
  for (int fd : {l->outbound.get(), l->inbound.get(), l->tunnel.get()}) {
    int listening = 0;
    socklen_t len = sizeof(listening);
    REQUIRE(::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0);
    CHECK(listening == 1);
    int v6only = 1;
    len = sizeof(v6only);
    REQUIRE(::getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len) == 0);
    CHECK(v6only == 0);
    CHECK(*local_port(fd) != 0);
  }
}

TEST_CASE("a loopback listener gets a kernel-chosen port") {
  auto fd = create_loopback_listener();
  REQUIRE(fd);
  CHECK(*local_port(fd->get()) > 0);
}
