#include "policy/traffic.hpp"

#include <re2/re2.h>

#include "tests/policy/support.hpp"

using namespace mesh::policy;
using Kind = model::StringMatch::Kind;

TEST_CASE("string matchers implement exact, prefix, regex and presence") {
  CHECK(StringMatcher(Kind::Exact, "GET", nullptr, false).matches("GET"));
  CHECK_FALSE(StringMatcher(Kind::Exact, "GET", nullptr, false).matches("get"));
  CHECK(StringMatcher(Kind::Exact, "/a", nullptr, true).matches("/A"));
  CHECK(StringMatcher(Kind::Prefix, "/api", nullptr, false).matches("/api/x"));
  CHECK_FALSE(StringMatcher(Kind::Prefix, "/api", nullptr, false).matches("/ap"));
  CHECK(StringMatcher(Kind::Prefix, "/api", nullptr, true).matches("/API/x"));
  StringMatcher re(Kind::Regex, "v[0-9]", std::make_unique<re2::RE2>("v[0-9]"), false);
  CHECK(re.matches("v1"));
  CHECK_FALSE(re.matches("v10"));  // full match
  CHECK(StringMatcher(Kind::Present, "", nullptr, false).matches(""));
}

TEST_CASE("route and destination tables are looked up by gateway and host") {
  auto p = test::must_compile("[[service]]\nname = \"s\"\n[[destination]]\nname = \"d\"\nhost = \"s\"\n"
                              "subsets = [{ name = \"a\", labels = { x = \"y\" } }]\n"
                              "[[route]]\nname = \"r\"\nhosts = [\"s\"]\n[[route.http]]\nto = [{ host = \"s\" }]\n");
  CHECK(p->routes().for_host("s.default.svc.cluster.local"));
  CHECK_FALSE(p->routes().for_host("s.default.svc.cluster.local", "default/nope"));
  CHECK_FALSE(p->routes().for_host("s"));
  CHECK(p->destinations().for_host("s.default.svc.cluster.local")->subset("a"));
  CHECK_FALSE(p->destinations().for_host("t.default.svc.cluster.local"));
}
