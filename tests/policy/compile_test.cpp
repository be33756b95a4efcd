// compile(): the driver, duplicate names, error order, and host resolution.
#include "policy/compile.hpp"

#include "tests/policy/support.hpp"

using namespace mesh::policy;
using test::compile_errors;
using test::must_compile;

TEST_CASE("two resources of one kind with the same namespace and name are a conflict") {
  CHECK(compile_errors("[[workload]]\nname = \"a\"\n[[workload]]\nname = \"a\"\n") ==
        "test.toml:3:1: duplicate workload 'default/a'; first defined at test.toml:1:1\n");
  // The same name in another namespace, or of another kind, is fine.
  must_compile("[[workload]]\nname = \"a\"\n[[workload]]\nname = \"a\"\nnamespace = \"b\"\n[[service]]\nname = \"a\"\n");
}

TEST_CASE("errors come out sorted by file, line and column whatever pass found them") {
  CHECK(compile_errors("[[route]]\nname = \"r\"\nhosts = [\"nope\"]\n[[route.http]]\nto = [{ host = \"s\" }]\n"
                       "[[workload]]\nname = \"w\"\n[[workload]]\nname = \"w\"\n") ==
        "test.toml:3:10: route 'default/r': unknown host 'nope' (not a [[service]] or [[external]] host)\n"
        "test.toml:5:16: route destination: unknown host 's' (not a [[service]] or [[external]] host)\n"
        "test.toml:8:1: duplicate workload 'default/w'; first defined at test.toml:6:1\n");
}

TEST_CASE("a host resolves as a client in a namespace would write it") {
  auto p = must_compile("[[service]]\nname = \"reviews\"\nnamespace = \"shop\"\n"
                        "[[external]]\nname = \"e\"\nhosts = [\"api.example.com\", \"*.example.org\"]\nports = [{ port = 443 }]\n");
  const Service* s = p->services().by_name("shop", "reviews");
  REQUIRE(s);
  CHECK(s->hostname == "reviews.shop.svc.cluster.local");
  CHECK(p->resolve_host("reviews.shop.svc.cluster.local", "x").service == s);
  CHECK(p->resolve_host("reviews.shop.svc.cluster.local.", "x").service == s);
  CHECK(p->resolve_host("reviews.shop.svc", "x").service == s);
  CHECK(p->resolve_host("reviews.shop", "x").service == s);
  CHECK(p->resolve_host("reviews", "shop").service == s);
  CHECK_FALSE(p->resolve_host("reviews", "default"));
  HostRef e = p->resolve_host("api.example.com", "x");
  CHECK(e.external);
  CHECK(e.host == "api.example.com");
  CHECK(p->resolve_host("a.b.example.org", "x").external);
  CHECK_FALSE(p->resolve_host("example.org", "x"));
}

TEST_CASE("the options decide identities, host names and the root namespace") {
  CompileOptions options;
  options.trust_domain = "example.org";
  options.cluster_domain = "corp.local";
  auto p = must_compile("[[workload]]\nname = \"w\"\nnamespace = \"n\"\nservice_account = \"sa\"\n[[service]]\nname = \"s\"\n",
                        options);
  CHECK(p->workloads().all()[0].identity == "spiffe://example.org/ns/n/sa/sa");
  CHECK(p->workloads().all()[0].principal() == "example.org/ns/n/sa/sa");
  CHECK(p->services().all()[0].hostname == "s.default.svc.corp.local");
  CHECK(p->options().trust_domain == "example.org");
}

TEST_CASE("after max_errors the list ends with one 'too many errors' line") {
  CompileOptions options;
  options.limits.max_errors = 3;
  std::string text;
  for (int i = 0; i < 6; ++i) text += "[[workload]]\nname = \"a\"\n";
  CHECK(compile_errors(text, options) ==
        "test.toml:3:1: duplicate workload 'default/a'; first defined at test.toml:1:1\n"
        "test.toml:5:1: duplicate workload 'default/a'; first defined at test.toml:1:1\n"
        "test.toml:7:1: duplicate workload 'default/a'; first defined at test.toml:1:1\n"
        "test.toml:9:1: too many errors (limit max_errors = 3); stopping\n");
}

TEST_CASE("where() prints a source location as file:line:col") {
  auto p = must_compile("\n\n[[workload]]\nname = \"a\"\n");
  CHECK(p->where(p->workloads().all()[0].spec->meta.loc) == "test.toml:3:1");
}
