#include "tunnel/tls/spiffe_id.hpp"

#include <doctest/doctest.h>

#include <string>

using mesh::tunnel::SpiffeId;

TEST_CASE("an Istio workload SPIFFE ID parses into trust domain, namespace and service account") {
  auto id = SpiffeId::parse("spiffe://cluster.local/ns/default/sa/bookinfo-ratings");
  REQUIRE(id.has_value());
  CHECK(id->trust_domain() == "cluster.local");
  CHECK(id->path() == "/ns/default/sa/bookinfo-ratings");
  CHECK(id->namespace_name() == "default");
  CHECK(id->service_account() == "bookinfo-ratings");
  CHECK(id->is_workload());
  CHECK(id->str() == "spiffe://cluster.local/ns/default/sa/bookinfo-ratings");
}

TEST_CASE("a non-Istio path is a valid SPIFFE ID without namespace or service account") {
  auto id = SpiffeId::parse("spiffe://example.org/spire/agent/x509pop/abc");
  REQUIRE(id.has_value());
  CHECK(id->trust_domain() == "example.org");
  CHECK_FALSE(id->is_workload());
  CHECK(id->namespace_name().empty());
  auto td_only = SpiffeId::parse("spiffe://example.org");
  REQUIRE(td_only.has_value());
  CHECK(td_only->path().empty());
  auto partial = SpiffeId::parse("spiffe://td/ns/a/sa/b/extra");
  REQUIRE(partial.has_value());
  CHECK_FALSE(partial->is_workload());
}

TEST_CASE("malformed SPIFFE IDs are refused with a reason") {
  const char* bad[] = {
      "",                                   // empty
      "http://cluster.local/ns/a/sa/b",     // wrong scheme
      "SPIFFE://cluster.local/ns/a/sa/b",   // scheme is case-sensitive
      "spiffe://",                          // no trust domain
      "spiffe:///ns/a/sa/b",                // empty trust domain
      "spiffe://Cluster.Local/ns/a/sa/b",   // upper-case trust domain
      "spiffe://cluster.local:8080/ns/a",   // port
      "spiffe://user@cluster.local/ns/a",   // userinfo
      "spiffe://cluster.local/",            // trailing slash
      "spiffe://cluster.local/ns//sa/b",    // empty segment
      "spiffe://cluster.local/ns/./sa/b",   // dot segment
      "spiffe://cluster.local/ns/../sa/b",  // dot-dot segment
      "spiffe://cluster.local/ns/a?x=1",    // query
      "spiffe://cluster.local/ns/a#frag",   // fragment
      "spiffe://cluster.local/ns/a b",      // space
      "spiffe://cluster.local/ns/%41",      // percent-encoding
  };
  for (const char* s : bad) {
    auto id = SpiffeId::parse(s);
    CHECK_MESSAGE(!id.has_value(), s);
    if (!id) CHECK(id.error().code() == mesh::base::Errc::Invalid);
  }
}

TEST_CASE("length limits: trust domain 255 bytes and the whole ID 2048 bytes") {
  std::string td(255, 'a');
  CHECK(SpiffeId::parse("spiffe://" + td + "/x").has_value());
  CHECK_FALSE(SpiffeId::parse("spiffe://" + td + "a/x").has_value());
  std::string long_path = "/" + std::string(2048 - 9 - 2 - 1, 'p');
  CHECK(SpiffeId::parse("spiffe://td" + long_path).has_value());
  CHECK_FALSE(SpiffeId::parse("spiffe://td" + long_path + "p").has_value());
}

TEST_CASE("workload() builds the Istio form and validates its parts") {
  auto id = SpiffeId::workload("cluster.local", "ns1", "sa1");
  REQUIRE(id.has_value());
  CHECK(id->str() == "spiffe://cluster.local/ns/ns1/sa/sa1");
  CHECK_FALSE(SpiffeId::workload("cluster.local", "", "sa1").has_value());
  CHECK_FALSE(SpiffeId::workload("cluster.local", "a/b", "sa1").has_value());
  CHECK_FALSE(SpiffeId::workload("UPPER", "ns", "sa").has_value());
}

TEST_CASE("SPIFFE IDs compare by their text and an empty one means no identity") {
  auto a = *SpiffeId::parse("spiffe://td/ns/a/sa/x");
  auto b = *SpiffeId::parse("spiffe://td/ns/a/sa/x");
  auto c = *SpiffeId::parse("spiffe://td/ns/b/sa/x");
  CHECK(a == b);
  CHECK(a != c);
  CHECK(a < c);
  SpiffeId none;
  CHECK(none.empty());
  CHECK(none.trust_domain().empty());
  CHECK_FALSE(a.empty());
}
