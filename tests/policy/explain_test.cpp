// explain(): resolving sources and destinations as users name them, routing
// deterministically, and authorizing at every endpoint.
#include "policy/explain.hpp"

#include "tests/policy/support.hpp"

using namespace mesh::policy;
using test::must_compile;

namespace {

const char* kMesh = R"(
[[workload]]
name = "web"
namespace = "front"
service_account = "web"
addresses = ["198.18.0.1"]
labels = { app = "web" }
[[workload]]
name = "legacy"
namespace = "front"
addresses = ["198.18.0.2"]
protocol = "tcp"
[[workload]]
name = "r1"
addresses = ["198.18.0.11"]
labels = { app = "reviews", version = "v1" }
[[workload]]
name = "r2"
addresses = ["198.18.0.12"]
labels = { app = "reviews", version = "v2" }
[[service]]
name = "reviews"
vips = ["198.19.0.1"]
selector = { app = "reviews" }
ports = [{ port = 80, target_port = 9080, protocol = "http" }]
[[destination]]
name = "reviews"
host = "reviews"
subsets = [{ name = "v1", labels = { version = "v1" } }, { name = "v2", labels = { version = "v2" } }]
[[route]]
name = "reviews"
hosts = ["reviews"]
[[route.http]]
name = "beta"
match = [{ headers = { x-beta = { exact = "1" } } }]
to = [{ host = "reviews", subset = "v2" }]
[[route.http]]
name = "split"
to = [{ host = "reviews", subset = "v1", weight = 80 }, { host = "reviews", subset = "v2", weight = 20 }]
[[authorization]]
name = "reviews"
selector = { app = "reviews", version = "v2" }
rules = [{ from = [{ namespaces = ["front"] }], to = [{ ports = [9080] }] }]
[[external]]
name = "ext"
hosts = ["api.example.com"]
ports = [{ port = 443, protocol = "tls" }]
)";

Explanation must_explain(const CompiledPolicy& p, ExplainQuery q) {
  auto e = explain(p, q);
  INFO((e ? std::string() : e.error().message()));
  REQUIRE(e);
  return std::move(*e);
}

}  // namespace

TEST_CASE("a request is routed by its rule and authorized at every endpoint of every weighted target") {
  auto p = must_compile(kMesh);
  Explanation e = must_explain(*p, {"front/web", "reviews.default:80", "GET", "/", {}});
  CHECK(e.source_identity == "spiffe://cluster.local/ns/front/sa/web");
  CHECK(e.service == p->services().by_name("default", "reviews"));
  CHECK(e.protocol == model::Protocol::Http);
  CHECK(e.outcome == RouteOutcome::Matched);
  CHECK(e.http_rule->name == "split");
  REQUIRE(e.targets.size() == 2);
  CHECK(e.targets[0].weight == 80);
  CHECK(e.targets[0].endpoints.at(0).workload->name == "r1");
  CHECK(e.targets[0].endpoints.at(0).port == 9080);  // the service port's target port
  CHECK(e.targets[1].endpoints.at(0).decision.reason == Reason::AllowMatched);
  CHECK(e.decision == "allow");
}

TEST_CASE("headers choose the rule, and the answer may differ per endpoint") {
  auto p = must_compile(kMesh);
  Explanation beta = must_explain(*p, {"front/web", "reviews.default:80", "", "", {{"x-beta", "1"}}});
  CHECK(beta.http_rule->name == "beta");
  CHECK(beta.decision == "allow");
  // A plaintext source: v1 has no ALLOW policy, v2's ALLOW needs the namespace.
  Explanation mixed = must_explain(*p, {"198.18.200.1", "198.19.0.1:80", "GET", "/", {}});
  CHECK(mixed.source_identity.empty());
  CHECK(mixed.decision == "partial");
  Explanation legacy = must_explain(*p, {"front/legacy", "reviews.default:80", "", "", {{"x-beta", "1"}}});
  CHECK(legacy.source_identity.empty());  // a workload outside the mesh speaks plaintext
  CHECK(legacy.decision == "deny");
}

TEST_CASE("without request attributes the connection is evaluated, which may depend on each request") {
  auto p = must_compile(kMesh + std::string(R"(
[[authorization]]
name = "get-only"
selector = { version = "v1" }
rules = [{ to = [{ methods = ["GET"] }] }]
)"));
  Explanation e = must_explain(*p, {"front/web", "reviews.default:80", "", "", {}});
  CHECK_FALSE(e.http);
  CHECK(e.outcome == RouteOutcome::Default);  // only tcp rules route a connection
  CHECK(e.targets.at(0).endpoints.size() == 2);
  CHECK(e.targets[0].endpoints[0].decision.verdict == Verdict::PerRequest);
  CHECK(e.targets[0].endpoints[1].decision.verdict == Verdict::Allow);
  CHECK(e.decision == "partial");
}

TEST_CASE("sources and destinations can be named by SPIFFE ID, workload, IP or host") {
  auto p = must_compile(kMesh);
  Explanation by_id = must_explain(*p, {"spiffe://cluster.local/ns/front/sa/web", "default/r2:9080", "", "", {}});
  CHECK(by_id.workload == p->workloads().by_name("default", "r2"));
  CHECK(by_id.decision == "allow");
  Explanation unique_name = must_explain(*p, {"web", "r1:9080", "", "", {}});
  CHECK(unique_name.source == p->workloads().by_name("front", "web"));
  CHECK(unique_name.workload->name == "r1");
  Explanation external = must_explain(*p, {"front/web", "api.example.com:443", "", "", {}});
  CHECK(external.external);
  CHECK_FALSE(external.targets.at(0).mesh);
  CHECK(external.decision == "allow");
  CHECK(must_explain(*p, {"front/web", "198.18.0.11:9080", "", "", {}}).workload->name == "r1");
}

TEST_CASE("unknown or malformed names are explained, with a suggestion where one is close") {
  auto p = must_compile(kMesh);
  CHECK(explain(*p, {"front/wbe", "reviews.default:80", "", "", {}}).error().message() ==
        "--from: unknown workload 'front/wbe'; did you mean 'front/web'?");
  CHECK(explain(*p, {"front/web", "reviews:80", "", "", {}}).error().message() ==
        "--to: unknown destination host 'reviews' in namespace 'front'; did you mean 'reviews.default'?");
  CHECK(explain(*p, {"front/web", "reviews.default", "", "", {}}).error().message() ==
        "--to 'reviews.default' must be <host>:<port> ([<ipv6>]:<port> for IPv6)");
  CHECK(explain(*p, {"front/web", "198.18.9.9:80", "", "", {}}).error().message() ==
        "--to: 198.18.9.9 is not the address of a workload, service or external service");
}

TEST_CASE("through a gateway the host is matched against the gateway's routes and backends see the gateway") {
  auto p = must_compile(kMesh + std::string(R"(
[[workload]]
name = "gw"
namespace = "edge"
service_account = "gateway"
addresses = ["198.18.0.100"]
labels = { role = "ingress" }
[[gateway]]
name = "public"
namespace = "edge"
selector = { role = "ingress" }
servers = [{ port = 80, protocol = "http", hosts = ["shop.example.com"], tls = { https_redirect = true } },
           { port = 443, protocol = "https", hosts = ["shop.example.com"], tls = { credential_name = "shop" } }]
[[route]]
name = "shop"
hosts = ["shop.example.com"]
gateways = ["edge/public"]
[[route.http]]
match = [{ path = { prefix = "/reviews" } }]
to = [{ host = "reviews", subset = "v2" }]
)"));
  Explanation e = must_explain(*p, {"198.18.200.7", "shop.example.com:443", "", "/reviews/1", {}, "edge/public"});
  CHECK(e.gateway == p->gateways().by_name("edge", "public"));
  CHECK(e.client == "198.18.200.7");
  CHECK(e.source_identity == "spiffe://cluster.local/ns/edge/sa/gateway");
  CHECK(e.outcome == RouteOutcome::Matched);
  // reviews v2 allows only the front namespace: the gateway's identity is refused.
  CHECK(e.decision == "deny");
  CHECK(must_explain(*p, {"198.18.200.7", "shop.example.com:443", "", "/other", {}, "edge/public"}).decision == "no route");
  CHECK(must_explain(*p, {"198.18.200.7", "shop.example.com:80", "", "/reviews", {}, "edge/public"}).decision == "redirect");
  CHECK(explain(*p, {"198.18.200.7", "shop.example.org:443", "", "/", {}, "edge/public"}).error().message() ==
        "--to: gateway 'edge/public' serves no host 'shop.example.org' on port 443");
}
