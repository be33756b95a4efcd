#include "policy/ip_index.hpp"

#include <doctest/doctest.h>

using mesh::base::IpAddr;
using mesh::policy::IpIndex;

namespace {
IpAddr ip(const char* s) { return *IpAddr::parse(s); }
}  // namespace

TEST_CASE("addresses map to their values and unknown addresses to nothing") {
  IpIndex index;
  CHECK(index.find(ip("198.18.0.1")) == nullptr);
  CHECK(index.insert(ip("198.18.0.1"), 7));
  CHECK(index.insert(ip("2001:db8::1"), 8));
  CHECK(*index.find(ip("198.18.0.1")) == 7);
  CHECK(*index.find(ip("2001:db8::1")) == 8);
  CHECK(index.find(ip("198.18.0.2")) == nullptr);
  CHECK(index.size() == 2);
}

TEST_CASE("an address is inserted once; the first value stays") {
  IpIndex index;
  CHECK(index.insert(ip("198.18.0.1"), 1));
  CHECK_FALSE(index.insert(ip("198.18.0.1"), 2));
  CHECK(*index.find(ip("198.18.0.1")) == 1);
}

TEST_CASE("IPv4 and IPv6 addresses with the same low bytes are different keys") {
  IpIndex index;
  CHECK(index.insert(ip("0.0.0.1"), 1));
  CHECK(index.insert(ip("::1"), 2));
  CHECK(*index.find(ip("0.0.0.1")) == 1);
  CHECK(*index.find(ip("::1")) == 2);
  // An IPv4-mapped IPv6 address is the IPv4 address (IpAddr canonicalises it).
  CHECK(*index.find(ip("::ffff:0.0.0.1")) == 1);
}

TEST_CASE("the index grows and keeps every entry reachable") {
  IpIndex index;
  for (uint32_t i = 0; i < 100000; ++i) REQUIRE(index.insert(IpAddr::v4(0xC6120000u + i), i));
  for (uint32_t i = 0; i < 100000; i += 997) CHECK(*index.find(IpAddr::v4(0xC6120000u + i)) == i);
  CHECK(index.find(IpAddr::v4(0xC6120000u + 100000)) == nullptr);
}

TEST_CASE("0.0.0.0 and :: are ordinary keys") {
  IpIndex index;
  CHECK(index.find(ip("0.0.0.0")) == nullptr);
  CHECK(index.insert(ip("0.0.0.0"), 0));
  CHECK(index.insert(ip("::"), 1));
  CHECK(*index.find(ip("0.0.0.0")) == 0);
  CHECK(*index.find(ip("::")) == 1);
}
