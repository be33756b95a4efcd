#include "daemon/base/socket_addr.hpp"

#include <doctest/doctest.h>

using namespace mesh::base;

TEST_CASE("IPv4 and IPv6 socket addresses parse and format round-trip") {
  for (const char* text : {"127.0.0.1:15001", "198.18.0.1:80", "[2001:db8::1]:443", "[::1]:0"}) {
    auto a = SocketAddr::parse(text);
    REQUIRE_MESSAGE(a, text);
    CHECK(a->to_string() == text);
  }
}

TEST_CASE("malformed socket addresses are rejected with the text in the message") {
  for (const char* text : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "1.2.3:80",
                           "2001:db8::1:80", "[2001:db8::1]80", "[zz::1]:80", "host:80",
                           "127.0.0.1:8x"}) {
    auto a = SocketAddr::parse(text);
    CHECK_MESSAGE(!a, text);
    if (!a) CHECK(a.error().code() == Errc::Invalid);
  }
}

TEST_CASE("v4-mapped IPv6 addresses become IPv4") {
  auto ip = IpAddr::parse("::ffff:198.18.0.7");
  REQUIRE(ip);
  CHECK(ip->is_v4());
  CHECK(ip->to_string() == "198.18.0.7");
}

TEST_CASE("sockaddr conversion preserves address and port") {
  auto a = SocketAddr::parse("[2001:db8::5]:8080").value();
  sockaddr_storage ss;
  socklen_t len = a.to_sockaddr(ss);
  auto back = SocketAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
  REQUIRE(back);
  CHECK(*back == a);
}

TEST_CASE("a CIDR contains exactly the addresses under its prefix") {
  auto net = Cidr::parse("198.18.0.0/15").value();
  CHECK(net.contains(IpAddr::parse("198.18.255.1").value()));
  CHECK(net.contains(IpAddr::parse("198.19.0.1").value()));
  CHECK_FALSE(net.contains(IpAddr::parse("198.20.0.1").value()));
  CHECK_FALSE(net.contains(IpAddr::parse("2001:db8::1").value()));
  auto v6 = Cidr::parse("2001:db8::/32").value();
  CHECK(v6.contains(IpAddr::parse("2001:db8:ffff::1").value()));
  CHECK_FALSE(v6.contains(IpAddr::parse("2001:db9::1").value()));
}

TEST_CASE("CIDR host bits are cleared and bare addresses are host routes") {
  CHECK(Cidr::parse("10.1.2.3/8").value().to_string() == "10.0.0.0/8");
  CHECK(Cidr::parse("198.18.0.9").value().to_string() == "198.18.0.9/32");
  CHECK(Cidr::parse("2001:db8::1").value().prefix_len() == 128);
  CHECK(Cidr::parse("0.0.0.0/0").value().contains(IpAddr::parse("1.2.3.4").value()));
  CHECK_FALSE(Cidr::parse("10.0.0.0/33"));
  CHECK_FALSE(Cidr::parse("10.0.0.0/"));
  CHECK_FALSE(Cidr::parse("2001:db8::/129"));
}

TEST_CASE("loopback and unspecified are recognised in both families") {
  CHECK(IpAddr::parse("127.0.0.6").value().is_loopback());
  CHECK(IpAddr::parse("::1").value().is_loopback());
  CHECK(IpAddr::parse("::").value().is_unspecified());
  CHECK(IpAddr::parse("0.0.0.0").value().is_unspecified());
  CHECK_FALSE(IpAddr::parse("198.18.0.1").value().is_loopback());
}
