#include "daemon/datapath/ebpf_backend.hpp"

#include <cstring>

#include <doctest/doctest.h>

using namespace mesh;
using namespace mesh::datapath;

TEST_CASE("a workload's map value carries its addresses in network order and its port in host order") {
  WorkloadRecord r;
  r.spec.ips = {*base::IpAddr::parse("198.18.1.2"), *base::IpAddr::parse("2001:db8:1::2")};
  r.outbound_port = 15001;
  auto v = workload_value(r);
  CHECK(v.flags == (MESH_WL_HAS_V4 | MESH_WL_HAS_V6));
  const uint8_t ip4[4] = {198, 18, 1, 2};
  CHECK(std::memcmp(v.ip4, ip4, 4) == 0);
  CHECK(v.ip6[0] == 0x20);
  CHECK(v.ip6[15] == 2);
  CHECK(v.out_port == 15001);
}

TEST_CASE("an IPv4-only workload has no IPv6 flag and a zero IPv6 address") {
  WorkloadRecord r;
  r.spec.ips = {*base::IpAddr::parse("198.18.1.2")};
  auto v = workload_value(r);
  CHECK(v.flags == MESH_WL_HAS_V4);
  for (uint8_t b : v.ip6) CHECK(b == 0);
}

TEST_CASE("address keys zero the unused bytes so lookups match the programs' keys") {
  auto k = ip_key(*base::IpAddr::parse("198.18.1.2"));
  CHECK(k.family == MESH_AF_INET);
  for (int i = 4; i < 16; ++i) CHECK(k.ip[i] == 0);
  CHECK(ip_key(*base::IpAddr::parse("2001:db8::1")).family == MESH_AF_INET6);
}

TEST_CASE("exclusion keys carry the direction, and CIDR prefix lengths count the 16 key bits") {
  CaptureOptions o;
  o.exclude_outbound_ports = {7070};
  o.exclude_inbound_ports = {9090};
  o.exclude_outbound_cidrs = {*base::Cidr::parse("198.19.0.0/16")};
  o.exclude_inbound_cidrs = {*base::Cidr::parse("2001:db8:ff::/48")};
  auto ports = port_keys(o);
  REQUIRE(ports.size() == 2);
  CHECK((ports[0].port == 7070 && ports[0].dir == MESH_DIR_OUTBOUND));
  CHECK((ports[1].port == 9090 && ports[1].dir == MESH_DIR_INBOUND));
  auto cidrs = cidr_keys(o);
  REQUIRE(cidrs.size() == 2);
  CHECK(cidrs[0].prefixlen == 16 + 16);
  CHECK(cidrs[0].family == MESH_AF_INET);
  CHECK(cidrs[0].ip[0] == 198);
  CHECK(cidrs[1].prefixlen == 16 + 48);
  CHECK(cidrs[1].dir == MESH_DIR_INBOUND);
}
