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
