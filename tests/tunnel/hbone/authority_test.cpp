#include "tunnel/hbone/authority.hpp"

#include <doctest/doctest.h>

using mesh::tunnel::hbone::parse_authority;

TEST_CASE("an IPv4 or bracketed IPv6 authority parses to a socket address") {
  auto v4 = parse_authority("10.0.0.7:8080");
  REQUIRE(v4.has_value());
  REQUIRE(v4->addr.has_value());
  CHECK(v4->addr->to_string() == "10.0.0.7:8080");
  auto v6 = parse_authority("[fd00::7]:80");
  REQUIRE(v6.has_value());
  REQUIRE(v6->addr.has_value());
  CHECK(v6->addr->ip().is_v6());
  CHECK(v6->port == 80);
}

TEST_CASE("a hostname authority is accepted without an address") {
  auto h = parse_authority("reviews.default.svc.cluster.local:9080");
  REQUIRE(h.has_value());
  CHECK_FALSE(h->addr.has_value());
  CHECK(h->host == "reviews.default.svc.cluster.local");
  CHECK(h->port == 9080);
}

TEST_CASE("malformed authorities are refused") {
  const char* bad[] = {"", "10.0.0.7", "10.0.0.7:", "10.0.0.7:0", "10.0.0.7:65536", "10.0.0.7:08",
                       "10.0.0.7:80x", "fd00::7:80", "[fd00::7:80", "[nothost]:80", "host name:80",
                       ":80", "-bad.example:80", "a/b:80", "user@host:80"};
  for (const char* s : bad) CHECK_MESSAGE(!parse_authority(s).has_value(), s);
}
