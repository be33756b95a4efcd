#include "daemon/datapath/orig_dst.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <cstring>

#include <doctest/doctest.h>

using namespace mesh;
using namespace mesh::datapath;

TEST_CASE("the tuple key matches what sockops stores: family, host-order port, network-order address") {
  auto key = tuple_key(4106, *base::SocketAddr::parse("198.18.1.2:40000"));
  CHECK(key.netns_cookie == 4106);
  CHECK(key.family == MESH_AF_INET);
  CHECK(key.port == 40000);
  const uint8_t ip[4] = {198, 18, 1, 2};
  CHECK(std::memcmp(key.ip, ip, 4) == 0);
  for (int i = 4; i < 16; ++i) CHECK(key.ip[i] == 0);
  CHECK(key.pad == 0);
}

TEST_CASE("a v4-mapped peer is keyed as IPv4, like sockops keys a dual-stack socket") {
  auto mapped = tuple_key(1, *base::SocketAddr::parse("[::ffff:198.18.1.2]:5"));
  auto plain = tuple_key(1, *base::SocketAddr::parse("198.18.1.2:5"));
  CHECK(std::memcmp(&mapped, &plain, sizeof(plain)) == 0);
}

TEST_CASE("an original destination record converts to the address it names") {
  mesh_orig o{};
  o.family = MESH_AF_INET6;
  o.port = 8080;
  inet_pton(AF_INET6, "2001:db8:2::11", o.ip);
  CHECK(to_socket_addr(o).to_string() == "[2001:db8:2::11]:8080");
  o = {};
  o.family = MESH_AF_INET;
  o.port = 80;
  const uint8_t ip[4] = {198, 19, 0, 10};
  std::memcpy(o.ip, ip, 4);
  CHECK(to_socket_addr(o).to_string() == "198.19.0.10:80");
}

TEST_CASE("a connection that was never redirected has no original destination") {
  // A plain loopback connection: nothing in conntrack's NAT table, nothing in the maps.
  auto l = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(sa);
  REQUIRE(::bind(l, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
  REQUIRE(::listen(l, 1) == 0);
  REQUIRE(::getsockname(l, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  int c = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(::connect(c, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
  int a = ::accept(l, nullptr, nullptr);
  OrigDstResolver nft(CaptureMode::Nftables, {});
  auto r = nft.outbound(0, a);
  CHECK_FALSE(r);
  ::close(a);
  ::close(c);
  ::close(l);
}
