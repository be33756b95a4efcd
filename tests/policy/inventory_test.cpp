#include "policy/inventory.hpp"

#include "tests/policy/support.hpp"

using namespace mesh::policy;
using mesh::base::IpAddr;

TEST_CASE("find_host tries the exact name, then ever shorter wildcard suffixes, then '*'") {
  StringMap<int> map;
  map.emplace("a.b.example.com", 1);
  map.emplace("*.example.com", 2);
  map.emplace("*.b.example.com", 3);
  CHECK(*find_host(map, "a.b.example.com") == 1);
  CHECK(*find_host(map, "c.b.example.com") == 3);
  CHECK(*find_host(map, "c.example.com") == 2);
  CHECK(find_host(map, "example.com") == nullptr);
  map.emplace("*", 4);
  CHECK(*find_host(map, "example.org") == 4);
}

TEST_CASE("lookups by name return nothing for unknown or oversized names") {
  auto p = test::must_compile("[[workload]]\nname = \"w\"\n[[gateway]]\nname = \"g\"\nselector = { a = \"b\" }\n"
                              "servers = [{ port = 80, protocol = \"http\", hosts = [\"*\"] }]\n");
  CHECK(p->workloads().by_name("default", "w"));
  CHECK_FALSE(p->workloads().by_name("default", std::string(400, 'w')));
  CHECK(p->gateways().by_name("default", "g"));
  CHECK_FALSE(p->gateways().by_name("other", "g"));
  CHECK_FALSE(p->services().by_host("w.default.svc.cluster.local"));
}
