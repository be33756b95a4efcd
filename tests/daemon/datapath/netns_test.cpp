#include "daemon/datapath/netns.hpp"

#include <doctest/doctest.h>

using namespace mesh;
using namespace mesh::datapath;

TEST_CASE("the current netns opens, has an inode and a cookie") {
  auto ns = Netns::current();
  REQUIRE(ns);
  CHECK(ns->inode() != 0);
  CHECK(netns_inode_at("/proc/self/ns/net") == ns->inode());
  auto cookie = ns->cookie();
  REQUIRE(cookie);
  CHECK(*cookie != 0);
}

TEST_CASE("a missing path is NotFound and a non-netns file is Invalid") {
  CHECK(Netns::open("/run/netns/definitely-missing").error().code() == base::Errc::NotFound);
  auto r = Netns::open("/proc/self/ns/uts");
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == base::Errc::Invalid);
  CHECK(netns_inode_at("/etc/hostname") == 0);
}

TEST_CASE("entering the current netns and leaving it is a no-op") {
  auto ns = Netns::current();
  REQUIRE(ns);
  {
    auto scope = NetnsScope::enter(*ns);
    REQUIRE(scope);
  }
  CHECK(netns_inode_at("/proc/thread-self/ns/net") == ns->inode());
}
