// Route selection: first matching rule, match conditions, weighted picks, outcomes.
#include <map>

#include "policy/engine.hpp"
#include "tests/policy/support.hpp"

using namespace mesh::policy;
using mesh::base::IpAddr;
using test::must_compile;

namespace {

const std::string kInventory = R"(
[[workload]]
name = "web"
namespace = "front"
labels = { app = "web" }
[[service]]
name = "reviews"
ports = [{ port = 9080, protocol = "http" }]
[[service]]
name = "ratings"
[[destination]]
name = "reviews"
host = "reviews"
subsets = [{ name = "v1", labels = { v = "1" } }, { name = "v2", labels = { v = "2" } }, { name = "v3", labels = { v = "3" } }]
)";
constexpr std::string_view kReviews = "reviews.default.svc.cluster.local";

// A random source that returns the values it is given, for exact weighted picks.
class Fixed final : public RandomSource {
 public:
  explicit Fixed(uint64_t v) : v_(v) {}
  uint64_t next() override { return v_; }

 private:
  uint64_t v_;
};

struct Request {
  std::string method = "GET";
  std::string path = "/";
  std::vector<Header> headers;
  RequestAttrs attrs() const { return RequestAttrs{method, path, "reviews:9080", "http", headers}; }
};

HttpRouteDecision route(const CompiledPolicy& p, const Request& r, const Workload* source = nullptr, uint16_t port = 9080) {
  RequestAttrs attrs = r.attrs();
  SplitMix64 random(7);
  return select_http_route(p, HttpRouteQuery{kReviews, port, &attrs, source}, random);
}

std::string rule_name(const HttpRouteDecision& d) { return d.rule ? d.rule->name : "<none>"; }

}  // namespace

TEST_CASE("the first rule whose match blocks match wins") {
  auto p = must_compile(kInventory + R"(
[[route]]
name = "r"
hosts = ["reviews"]
[[route.http]]
name = "jason"
match = [{ headers = { end-user = { exact = "jason" } } }, { query = { user = { exact = "jason" } } }]
to = [{ host = "reviews", subset = "v2" }]
[[route.http]]
name = "api"
match = [{ path = { prefix = "/api/" }, method = { exact = "GET" } }]
to = [{ host = "reviews", subset = "v3" }]
[[route.http]]
name = "rest"
to = [{ host = "reviews", subset = "v1" }]
)");
  Request r;
  CHECK(rule_name(route(*p, r)) == "rest");
  r.headers = {{"End-User", "jason"}};
  HttpRouteDecision d = route(*p, r);
  CHECK(d.outcome == RouteOutcome::Matched);
  CHECK(rule_name(d) == "jason");
  CHECK(d.target->subset->name == "v2");
  r.headers.clear();
  r.path = "/api/x?user=jason";  // the second block of the first rule
  CHECK(rule_name(route(*p, r)) == "jason");
  r.path = "/api/x";
  CHECK(rule_name(route(*p, r)) == "api");
  r.method = "POST";  // both conditions of a block must hold
  CHECK(rule_name(route(*p, r)) == "rest");
}

TEST_CASE("every kind of match condition decides as Istio does") {
  auto p = must_compile(kInventory + R"(
[[route]]
name = "r"
hosts = ["reviews"]
[[route.http]]
name = "exact-path"
match = [{ path = { exact = "/exact" } }]
to = [{ host = "reviews" }]
[[route.http]]
name = "icase"
match = [{ path = { prefix = "/Case" }, ignore_uri_case = true }]
to = [{ host = "reviews" }]
[[route.http]]
name = "regex"
match = [{ path = { regex = "/items/[0-9]+" } }]
to = [{ host = "reviews" }]
[[route.http]]
name = "present"
match = [{ headers = { x-debug = { present = true } }, without_headers = { x-skip = { exact = "1" } } }]
to = [{ host = "reviews" }]
[[route.http]]
name = "source"
match = [{ source_labels = { app = "web" }, source_namespace = "front" }]
to = [{ host = "reviews" }]
[[route.http]]
name = "port"
match = [{ port = 9999 }]
to = [{ host = "reviews" }]
)");
  Request r;
  r.path = "/exact?q=1";  // exact and regex ignore the query string
  CHECK(rule_name(route(*p, r)) == "exact-path");
  r.path = "/exactly";
  CHECK(route(*p, r).outcome == RouteOutcome::NoMatch);
  r.path = "/case/a";
  CHECK(rule_name(route(*p, r)) == "icase");
  r.path = "/items/42?x";
  CHECK(rule_name(route(*p, r)) == "regex");
  r.path = "/items/42x";  // regex is a full match
  CHECK(route(*p, r).outcome == RouteOutcome::NoMatch);
  r.path = "/";
  r.headers = {{"x-debug", ""}};
  CHECK(rule_name(route(*p, r)) == "present");
  r.headers = {{"x-debug", "1"}, {"x-skip", "1"}};
  CHECK(route(*p, r).outcome == RouteOutcome::NoMatch);
  r.headers.clear();
  CHECK(rule_name(route(*p, r, p->workloads().by_name("front", "web"))) == "source");
  CHECK(rule_name(route(*p, r, nullptr, 9999)) == "port");
}

TEST_CASE("weighted destinations are picked in proportion to their weights") {
  auto p = must_compile(kInventory + R"(
[[route]]
name = "r"
hosts = ["reviews"]
[[route.http]]
to = [{ host = "reviews", subset = "v1", weight = 90 }, { host = "reviews", subset = "v2", weight = 10 }, { host = "reviews", subset = "v3", weight = 0 }]
)");
  Request r;
  RequestAttrs attrs = r.attrs();
  auto pick = [&](uint64_t value) {
    Fixed random(value);
    return select_http_route(*p, HttpRouteQuery{kReviews, 9080, &attrs}, random).target->subset->name;
  };
  // The top 32 bits scale onto [0, 100): below 90 is v1, 90 to 99 is v2, v3 never.
  CHECK(pick(0) == "v1");
  CHECK(pick(uint64_t{0xE6000000} << 32) == "v1");  // 89.8
  CHECK(pick(uint64_t{0xE7000000} << 32) == "v2");  // 90.2
  CHECK(pick(~uint64_t{0}) == "v2");
  std::map<std::string, int> counts;
  SplitMix64 random(42);
  for (int i = 0; i < 100000; ++i) counts[select_http_route(*p, HttpRouteQuery{kReviews, 9080, &attrs}, random).target->subset->name]++;
  CHECK(counts["v1"] > 89000);
  CHECK(counts["v1"] < 91000);
  CHECK(counts["v3"] == 0);
}

TEST_CASE("a host without a route goes straight to itself; a redirect has no target") {
  auto p = must_compile(kInventory + R"(
[[route]]
name = "r"
hosts = ["reviews"]
[[route.http]]
match = [{ path = { prefix = "/old" } }]
redirect = { path = "/new", code = 308 }
)");
  Request r;
  RequestAttrs attrs = r.attrs();
  SplitMix64 random(1);
  HttpRouteDecision d = select_http_route(*p, HttpRouteQuery{"ratings.default.svc.cluster.local", 80, &attrs}, random);
  CHECK(d.outcome == RouteOutcome::Default);
  CHECK(d.route == nullptr);
  CHECK(default_retry_policy().attempts == 2);
  r.path = "/old/x";
  d = route(*p, r);
  CHECK(d.outcome == RouteOutcome::Matched);
  CHECK(d.target == nullptr);
  CHECK(d.rule->spec->redirect->code == 308);
}

TEST_CASE("tcp routes match on port, destination subnet and source") {
  auto p = must_compile(kInventory + R"(
[[route]]
name = "r"
hosts = ["ratings"]
[[route.tcp]]
name = "subnet"
match = [{ destination_subnets = ["198.19.0.0/24"] }]
to = [{ host = "reviews", subset = "v1" }]
[[route.tcp]]
name = "port"
match = [{ port = 3306 }]
to = [{ host = "reviews", subset = "v2" }]
)");
  SplitMix64 random(1);
  auto tcp = [&](uint16_t port, const char* ip) {
    return select_tcp_route(*p, TcpRouteQuery{"ratings.default.svc.cluster.local", port, *IpAddr::parse(ip)}, random);
  };
  CHECK(tcp(80, "198.19.0.9").rule->name == "subnet");
  CHECK(tcp(3306, "198.19.1.9").rule->name == "port");
  CHECK(tcp(80, "198.19.1.9").outcome == RouteOutcome::NoMatch);
  CHECK(select_tcp_route(*p, TcpRouteQuery{kReviews, 80, {}}, random).outcome == RouteOutcome::Default);
}

TEST_CASE("routes bound to a gateway are selected only for that gateway, wildcard hosts included") {
  auto p = must_compile(kInventory + R"(
[[gateway]]
name = "gw"
selector = { app = "gw" }
servers = [{ port = 80, protocol = "http", hosts = ["*.example.com"] }]
[[route]]
name = "edge"
hosts = ["*.example.com"]
gateways = ["gw"]
[[route.http]]
to = [{ host = "reviews" }]
)");
  Request r;
  RequestAttrs attrs = r.attrs();
  SplitMix64 random(1);
  HttpRouteQuery q{"shop.example.com", 80, &attrs, nullptr, "default/gw"};
  CHECK(select_http_route(*p, q, random).outcome == RouteOutcome::Matched);
  q.gateway = kMeshGateway;
  CHECK(select_http_route(*p, q, random).outcome == RouteOutcome::Default);
}

TEST_CASE("a query that names the dialled service uses its route without a host lookup") {
  auto p = must_compile(kInventory + "[[route]]\nname = \"r\"\nhosts = [\"reviews\"]\n[[route.http]]\nname = \"only\"\n"
                                     "to = [{ host = \"reviews\", subset = \"v1\" }]\n");
  Request r;
  RequestAttrs attrs = r.attrs();
  SplitMix64 random(1);
  HttpRouteQuery q{"ignored", 9080, &attrs, nullptr, kMeshGateway, p->services().by_name("default", "reviews")};
  CHECK(rule_name(select_http_route(*p, q, random)) == "only");
  q.service = p->services().by_name("default", "ratings");
  CHECK(select_http_route(*p, q, random).outcome == RouteOutcome::Default);
}

TEST_CASE("a decision carries the rule's compiled actions, the block that matched and the mirror") {
  auto p = must_compile(kInventory + R"(
[[route]]
name = "r"
hosts = ["reviews"]
[[route.http]]
name = "two-blocks"
match = [{ path = { exact = "/a" } }, { path = { prefix = "/b/" } }]
to = [{ host = "reviews" }]
timeout = "4s"
rewrite = { path = "/" }
mirror = { host = "reviews", subset = "v3", percentage = 5 }
[[route.http]]
name = "rest"
match = [{ path = { prefix = "/only" } }]
to = [{ host = "reviews" }]
)");
  const Route* r = p->routes().for_host(kReviews);
  Request req;
  req.path = "/b/x";
  HttpRouteDecision d = route(*p, req);
  CHECK(rule_name(d) == "two-blocks");
  CHECK(d.match == &r->http[0].matches[1]);
  CHECK(d.actions == &r->http[0].actions);
  CHECK(d.actions->timeout == std::chrono::seconds(4));
  REQUIRE(d.mirror);
  CHECK(d.mirror->target.subset->name == "v3");
  CHECK(d.mirror->fraction.per_million == 50000);
  CHECK(rewrite_path(d.actions->path_rewrite, req.path, d.match) == "/x");
  req.path = "/only";
  d = route(*p, req);
  CHECK(d.match == &r->http[1].matches[0]);
  CHECK(d.mirror == nullptr);
  CHECK(d.actions->retries.istio_default);
  req.path = "/none";
  d = route(*p, req);  // NoMatch: no rule, the default actions
  CHECK(d.outcome == RouteOutcome::NoMatch);
  CHECK(d.actions == &default_route_actions());
  CHECK(d.match == nullptr);
  RequestAttrs attrs = req.attrs();
  SplitMix64 random(1);
  d = select_http_route(*p, HttpRouteQuery{"ratings.default.svc.cluster.local", 80, &attrs}, random);
  CHECK(d.outcome == RouteOutcome::Default);
  CHECK(d.actions == &default_route_actions());
}

TEST_CASE("every target has a resolved traffic policy and a cluster key that outlives the snapshot") {
  const std::string policy = R"(
[[service]]
name = "reviews"
ports = [{ port = 9080, protocol = "http" }, { port = 9090, protocol = "http" }]
[[service]]
name = "ratings"
ports = [{ port = 80, protocol = "http" }]
[[destination]]
name = "reviews"
host = "reviews"
load_balancer = { simple = "round_robin" }
outlier_detection = { consecutive_5xx_errors = 3 }
subsets = [{ name = "v1", labels = { v = "1" } },
           { name = "v2", labels = { v = "2" }, load_balancer = { simple = "random" } }]
[[route]]
name = "r"
hosts = ["reviews"]
[[route.http]]
to = [{ host = "reviews", subset = "v1", weight = 25 }, { host = "reviews", subset = "v2", port = 9090, weight = 25 },
      { host = "reviews", port = 9080, weight = 25 }, { host = "ratings", weight = 25 }]
[[route.tcp]]
to = [{ host = "reviews", subset = "v2", port = 9080 }]
)";
  auto p = must_compile(policy);
  const Destination* dest = p->destinations().for_host(kReviews);
  const auto& targets = p->routes().for_host(kReviews)->http[0].targets;
  REQUIRE(targets.size() == 4);
  struct Case {
    size_t target;
    const TrafficPolicy* traffic_policy;
    model::LbPolicy lb;
    bool outlier_detection;  // inherited from the destination's top level
    const char* cluster;     // empty: the dialled port completes it
    const char* dialled_9080;
  };
  const Case cases[] = {
      {0, &dest->subset("v1")->traffic_policy, model::LbPolicy::RoundRobin, true, "",
       "outbound|9080|v1|reviews.default.svc.cluster.local"},
      {1, &dest->subset("v2")->traffic_policy, model::LbPolicy::Random, true,
       "outbound|9090|v2|reviews.default.svc.cluster.local", "outbound|9090|v2|reviews.default.svc.cluster.local"},
      {2, &dest->traffic_policy, model::LbPolicy::RoundRobin, true, "outbound|9080||reviews.default.svc.cluster.local",
       "outbound|9080||reviews.default.svc.cluster.local"},
      {3, &default_traffic_policy(), model::LbPolicy::LeastRequest, false, "",
       "outbound|9080||ratings.default.svc.cluster.local"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.target);
    const RouteTarget& t = targets[c.target];
    CHECK(t.traffic_policy == c.traffic_policy);
    CHECK(t.traffic_policy->load_balancer.simple == c.lb);
    CHECK(t.traffic_policy->outlier_detection.has_value() == c.outlier_detection);
    CHECK(t.cluster == std::string(c.cluster));
    CHECK(cluster_key(t, 9080) == std::string(c.dialled_9080));
  }
  // Istio's defaults for a host without a destination.
  CHECK(default_traffic_policy().connection_pool.max_connections == UINT32_MAX);
  CHECK_FALSE(default_traffic_policy().tls);
  CHECK(&host_traffic_policy(*p, kReviews) == &dest->traffic_policy);
  CHECK(&host_traffic_policy(*p, "ratings.default.svc.cluster.local") == &default_traffic_policy());
  // TCP targets are resolved the same way.
  const RouteTarget& tcp = p->routes().for_host(kReviews)->tcp[0].targets[0];
  CHECK(tcp.traffic_policy == &dest->subset("v2")->traffic_policy);
  CHECK(tcp.cluster == "outbound|9080|v2|reviews.default.svc.cluster.local");
  // The key is a value: the same policy compiled again (a reload) gives equal keys.
  auto again = must_compile(policy);
  CHECK(again->routes().for_host(kReviews)->http[0].targets[1].cluster == targets[1].cluster);
}
