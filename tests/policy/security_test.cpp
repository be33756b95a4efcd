#include "policy/security.hpp"

#include "tests/policy/support.hpp"

using namespace mesh::policy;

TEST_CASE("value matchers parse Istio's exact, prefix*, *suffix and * forms") {
  CHECK(ValueMatcher::parse("a").kind == ValueMatcher::Kind::Exact);
  CHECK(ValueMatcher::parse("a*").kind == ValueMatcher::Kind::Prefix);
  CHECK(ValueMatcher::parse("*a").kind == ValueMatcher::Kind::Suffix);
  CHECK(ValueMatcher::parse("*").kind == ValueMatcher::Kind::Any);
  CHECK(ValueMatcher::parse("/api/*").matches("/api/users"));
  CHECK_FALSE(ValueMatcher::parse("/api/*").matches("/ap"));
  CHECK(ValueMatcher::parse("*.example.com").matches("a.example.com"));
  CHECK(ValueMatcher::parse("*").matches("x"));
  CHECK_FALSE(ValueMatcher::parse("*").matches(""));
  CHECK_FALSE(ValueMatcher::parse("a").matches("ab"));
}

TEST_CASE("a workload outside the table gets the mesh-wide scopes and mode") {
  auto p = test::must_compile("[[peer_authentication]]\nname = \"m\"\nnamespace = \"istio-system\"\nmode = \"strict\"\n"
                              "[[authorization]]\nname = \"a\"\nnamespace = \"istio-system\"\n");
  Workload stranger;
  stranger.index = 99;
  stranger.ns = "x";
  auto scopes = p->authorizations().for_workload(stranger);
  CHECK(scopes[0]->allow.size() == 1);
  CHECK(scopes[1]->empty());
  CHECK(scopes[2]->empty());
  CHECK(p->peer_authentications().lookup(&stranger, 80).mode == model::MtlsMode::Strict);
}

TEST_CASE("CIDR matchers compare masked address halves for IPv4 and IPv6") {
  using mesh::base::Cidr;
  using mesh::base::IpAddr;
  auto has = [](const char* cidr, const char* ip) {
    return CidrMatcher::of(*Cidr::parse(cidr)).contains(*IpAddr::parse(ip));
  };
  CHECK(has("198.18.0.0/15", "198.19.255.1"));
  CHECK_FALSE(has("198.18.0.0/15", "198.20.0.1"));
  CHECK(has("198.18.0.7", "198.18.0.7"));
  CHECK_FALSE(has("198.18.0.7", "198.18.0.8"));
  CHECK(has("0.0.0.0/0", "203.0.113.1"));
  CHECK_FALSE(has("0.0.0.0/0", "2001:db8::1"));  // families never mix
  CHECK(has("2001:db8::/32", "2001:db8:ffff::1"));
  CHECK_FALSE(has("2001:db8::/32", "2001:db9::1"));
  CHECK(has("2001:db8::1:0/112", "2001:db8::1:ffff"));
  CHECK_FALSE(has("2001:db8::1:0/112", "2001:db8::2:0"));
  CHECK(has("2001:db8::1", "2001:db8::1"));
  CHECK(has("::/0", "2001:db8::1"));
}

TEST_CASE("each workload records which of its authorization lists are non-empty") {
  auto p = test::must_compile("[[workload]]\nname = \"a\"\nlabels = { app = \"a\" }\n[[workload]]\nname = \"b\"\n"
                              "[[authorization]]\nname = \"d\"\nselector = { app = \"a\" }\naction = \"deny\"\n"
                              "[[authorization]]\nname = \"x\"\naction = \"audit\"\ndry_run = true\n");
  const auto& t = p->authorizations();
  CHECK(t.lists_for(*p->workloads().by_name("default", "a")) == (kListDeny | kListDryRun));
  CHECK(t.lists_for(*p->workloads().by_name("default", "b")) == kListDryRun);
  CHECK(same("GET", "GET"));
  CHECK_FALSE(same("GET", "GEt"));
  CHECK(same("cluster.local/ns/a/sa/very-long-name", "cluster.local/ns/a/sa/very-long-name"));
  CHECK_FALSE(same("cluster.local/ns/a/sa/very-long-name", "cluster.local/ns/a/sa/very-long-nane"));
}
