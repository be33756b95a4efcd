#include "daemon/datapath/nft_ruleset.hpp"

#include <doctest/doctest.h>

using namespace mesh;
using namespace mesh::datapath;

namespace {
bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }
}  // namespace

TEST_CASE("the ruleset redirects outbound TCP to 15001 and inbound TCP to 15006") {
  NftParams p;
  p.workload_ips = {*base::IpAddr::parse("198.18.1.2"), *base::IpAddr::parse("2001:db8:1::2")};
  auto text = render_nft_ruleset(p);
  CHECK(has(text, "table inet meshd {"));
  CHECK(has(text, "type nat hook output priority -100"));
  CHECK(has(text, "meta l4proto tcp redirect to :15001"));
  CHECK(has(text, "type nat hook prerouting priority -100"));
  CHECK(has(text, "meta l4proto tcp redirect to :15006"));
}

TEST_CASE("the daemon's marked sockets, loopback, self-calls and the tunnel port are left alone") {
  NftParams p;
  p.workload_ips = {*base::IpAddr::parse("198.18.1.2"), *base::IpAddr::parse("2001:db8:1::2")};
  auto text = render_nft_ruleset(p);
  CHECK(has(text, "meta mark & 0xfff == 0x539 accept"));
  CHECK(has(text, "ip daddr 127.0.0.0/8 accept"));
  CHECK(has(text, "ip daddr 198.18.1.2 accept"));
  CHECK(has(text, "ip6 daddr 2001:db8:1::2 accept"));
  CHECK(has(text, "ip saddr 127.0.0.6 accept"));
  CHECK(has(text, "tcp dport 15008 accept"));
}

TEST_CASE("exclusions become accept rules before the redirect, per direction and family") {
  NftParams p;
  p.exclude_outbound_ports = {22, 7070};
  p.exclude_inbound_ports = {9090};
  p.exclude_outbound_cidrs = {*base::Cidr::parse("198.19.0.0/16"), *base::Cidr::parse("2001:db8:ff::/48")};
  p.exclude_inbound_cidrs = {*base::Cidr::parse("198.18.0.0/24")};
  auto text = render_nft_ruleset(p);
  auto out = text.substr(0, text.find("chain prerouting"));
  auto in = text.substr(text.find("chain prerouting"));
  CHECK(has(out, "tcp dport { 22, 7070 } accept"));
  CHECK(has(out, "ip daddr { 198.19.0.0/16 } accept"));
  CHECK(has(out, "ip6 daddr { 2001:db8:ff::/48 } accept"));
  CHECK(has(in, "tcp dport { 9090 } accept"));
  CHECK(has(in, "ip saddr { 198.18.0.0/24 } accept"));
  CHECK(out.find("accept") < out.find("redirect"));
}

TEST_CASE("install and removal are single idempotent transactions") {
  auto text = render_nft_ruleset(NftParams{});
  CHECK(text.rfind("add table inet meshd\ndelete table inet meshd\n", 0) == 0);
  CHECK(render_nft_delete() == "add table inet meshd\ndelete table inet meshd\n");
}
