// The per-request decisions as tables: the server side's authorization of a request, the
// client side's route (rule, target, 404, redirect), the balancer config and hash keys the
// destination asks for, and the telemetry names of a request's peers.
#include <doctest/doctest.h>

#include <regex>
#include <set>

#include "daemon/proxy/http/outbound_route.hpp"
#include "daemon/proxy/http/request_decision.hpp"
#include "daemon/upstream/hash.hpp"
#include "policy/toml/codec.hpp"

using namespace mesh;
using proxy::OutboundRoute;
namespace http = tunnel::http;

namespace {

constexpr const char* kPolicy = R"(
[[workload]]
name = "web"
namespace = "shop"
service_account = "web"
addresses = ["198.18.1.11"]
labels = { app = "web" }

[[workload]]
name = "reviews-v1"
namespace = "shop"
service_account = "reviews"
addresses = ["198.18.2.11"]
labels = { app = "reviews", version = "v1" }

[[workload]]
name = "reviews-v2"
namespace = "shop"
service_account = "reviews"
addresses = ["198.18.2.12"]
labels = { app = "reviews", version = "v2" }

[[service]]
name = "reviews"
namespace = "shop"
vips = ["198.19.0.20"]
selector = { app = "reviews" }
ports = [{ port = 9080, target_port = 8080, protocol = "http" }]

[[service]]
name = "plain"
namespace = "shop"
vips = ["198.19.0.21"]
selector = { app = "reviews" }
ports = [{ port = 80, target_port = 8081 }]

[[destination]]
name = "reviews"
namespace = "shop"
host = "reviews"
load_balancer = { consistent_hash = { http_header_name = "x-user" } }
subsets = [{ name = "v1", labels = { version = "v1" } }, { name = "v2", labels = { version = "v2" } }]

[[route]]
name = "reviews"
namespace = "shop"
hosts = ["reviews"]
[[route.http]]
name = "jason"
match = [{ headers = { "end-user" = { exact = "jason" } } }]
to = [{ host = "reviews", subset = "v2" }]
[[route.http]]
name = "old"
match = [{ path = { prefix = "/old" } }]
redirect = { path = "/new" }
[[route.http]]
name = "api"
match = [{ path = { prefix = "/api/" } }]
rewrite = { path = "/v1/" }
to = [{ host = "reviews", subset = "v1" }]

[[authorization]]
name = "reviews-get"
namespace = "shop"
selector = { app = "reviews" }
[[authorization.rules]]
from = [{ principals = ["cluster.local/ns/shop/sa/web"] }]
to = [{ methods = ["GET"] }]
)";

policy::PolicySnapshot compile(const std::string& text) {
  std::vector<policy::SourceFile> files{{"mesh.toml", text}};
  auto r = policy::load_policy_sources(files, policy::CompileOptions{});
  for (const auto& e : r.errors) FAIL(e.to_string());
  REQUIRE(r.ok());
  return r.policy;
}

base::SocketAddr addr(const char* text) { return base::SocketAddr::parse(text).value(); }

http::RequestHead request(std::string method, std::string path, http::HeaderMap headers = {}) {
  http::RequestHead h;
  h.method = std::move(method);
  h.path = std::move(path);
  h.authority = "reviews.shop:9080";
  h.version = http::Version::Http11;
  h.headers = std::move(headers);
  return h;
}

struct Fixture {
  policy::PolicySnapshot p = compile(kPolicy);
  base::SplitMix64 random{7};
  const policy::Service& reviews = *p->services().by_vip(base::IpAddr::parse("198.19.0.20").value());
  const policy::Workload* web = p->workloads().by_ip(base::IpAddr::parse("198.18.1.11").value());

  OutboundRoute route(const http::RequestHead& head) { return proxy::route_outbound(*p, reviews, 9080, head, web, random); }
  std::set<std::string> endpoint_names(const OutboundRoute& r) {
    std::set<std::string> out;
    for (uint32_t i : *r.endpoints) out.insert(p->workloads().all()[i].name);
    return out;
  }
};

}  // namespace

TEST_CASE_FIXTURE(Fixture, "the first matching rule routes a request to its target's endpoints") {
  auto r = route(request("GET", "/reviews/1", {{"end-user", "jason"}}));
  REQUIRE(r.verdict == OutboundRoute::Verdict::Forward);
  REQUIRE(r.decision.rule != nullptr);
  CHECK(r.decision.rule->name == "jason");
  CHECK(endpoint_names(r) == std::set<std::string>{"reviews-v2"});
  CHECK(r.target_port == 8080);
  CHECK(r.cluster == "outbound|9080|v2|reviews.shop.svc.cluster.local");
  REQUIRE(r.traffic != nullptr);
  CHECK(r.traffic->load_balancer.consistent_hash.has_value());
}

TEST_CASE_FIXTURE(Fixture, "a request no rule matches is a 404; a redirect rule answers with its Location") {
  auto none = route(request("GET", "/reviews/1"));
  CHECK(none.verdict == OutboundRoute::Verdict::NotFound);
  auto moved = route(request("GET", "/old/page?x=1"));
  REQUIRE(moved.verdict == OutboundRoute::Verdict::Redirect);
  CHECK(moved.redirect_code == 301);
  CHECK(moved.location == "http://reviews.shop:9080/new?x=1");
}

TEST_CASE_FIXTURE(Fixture, "a rewrite rule's actions come with the decision") {
  auto r = route(request("GET", "/api/users"));
  REQUIRE(r.verdict == OutboundRoute::Verdict::Forward);
  CHECK(endpoint_names(r) == std::set<std::string>{"reviews-v1"});
  CHECK(policy::rewrite_path(r.decision.actions->path_rewrite, "/api/users", r.decision.match) == "/v1/users");
}

TEST_CASE_FIXTURE(Fixture, "a service without routes sends to all its endpoints with the default balancer") {
  const policy::Service& plain = *p->services().by_vip(base::IpAddr::parse("198.19.0.21").value());
  auto r = proxy::route_outbound(*p, plain, 80, request("POST", "/x"), web, random);
  REQUIRE(r.verdict == OutboundRoute::Verdict::Forward);
  CHECK(endpoint_names(r) == std::set<std::string>{"reviews-v1", "reviews-v2"});
  CHECK(r.target_port == 8081);
  CHECK(r.cluster == "outbound|80||plain.shop.svc.cluster.local");
  CHECK(proxy::lb_config_for(*r.traffic).kind == upstream::LbKind::LeastRequest);
  // A port the service does not have: nothing to send it to.
  CHECK(proxy::route_outbound(*p, plain, 81, request("GET", "/"), web, random).verdict ==
        OutboundRoute::Verdict::NoEndpoint);
}

TEST_CASE_FIXTURE(Fixture, "consistent hashing keys on the header the destination names") {
  auto r = route(request("GET", "/reviews/1", {{"end-user", "jason"}}));
  REQUIRE(r.traffic != nullptr);
  CHECK(proxy::lb_config_for(*r.traffic).kind == upstream::LbKind::ConsistentHash);
  auto ip = base::IpAddr::parse("198.18.1.11").value();
  auto with = proxy::hash_key(*r.traffic, request("GET", "/", {{"x-user", "ann"}}), ip);
  REQUIRE(with.has_value());
  CHECK(*with == upstream::xxhash64("ann"));
  CHECK(*with != *proxy::hash_key(*r.traffic, request("GET", "/", {{"x-user", "bob"}}), ip));
  CHECK_FALSE(proxy::hash_key(*r.traffic, request("GET", "/"), ip).has_value());  // random pick, as Envoy
  CHECK_FALSE(proxy::hash_key(policy::default_traffic_policy(), request("GET", "/", {{"x-user", "ann"}}), ip));
}

TEST_CASE_FIXTURE(Fixture, "the server side authorizes each request by method and principal") {
  proxy::FlowAttrs attrs{"spiffe://cluster.local/ns/shop/sa/web", addr("198.18.1.11:40000"), addr("198.18.2.11:8080")};
  CHECK_FALSE(proxy::refuses(proxy::authorize_inbound_request(p.get(), attrs, request("GET", "/reviews/1"))));
  CHECK(proxy::refuses(proxy::authorize_inbound_request(p.get(), attrs, request("POST", "/reviews/1"))));
  proxy::FlowAttrs stranger = attrs;
  stranger.source_identity = "spiffe://cluster.local/ns/shop/sa/jobs";
  CHECK(proxy::refuses(proxy::authorize_inbound_request(p.get(), stranger, request("GET", "/reviews/1"))));
  // Without a policy snapshot nothing is enforced yet.
  CHECK_FALSE(proxy::refuses(proxy::authorize_inbound_request(nullptr, stranger, request("POST", "/"))));
}

TEST_CASE_FIXTURE(Fixture, "a request's peers as telemetry names them") {
  proxy::FlowAttrs attrs{"spiffe://cluster.local/ns/shop/sa/web", addr("198.18.1.11:40000"), addr("198.18.2.12:8080")};
  telemetry::RequestRecord in;
  proxy::describe_inbound(p.get(), attrs, "reviews.shop:9080", in);
  CHECK(in.reporter == telemetry::Reporter::Destination);
  CHECK(in.source.workload == "web");
  CHECK(in.source.workload_namespace == "shop");
  CHECK(in.source.principal == "spiffe://cluster.local/ns/shop/sa/web");
  CHECK(in.destination.workload == "reviews-v2");
  CHECK(in.destination_service == "reviews.shop.svc.cluster.local");
  // An authority that names no service: the workload's first service.
  telemetry::RequestRecord by_ip;
  proxy::describe_inbound(p.get(), attrs, "198.18.2.12:8080", by_ip);
  CHECK_FALSE(by_ip.destination_service.empty());

  telemetry::RequestRecord out;
  auto endpoint = addr("198.18.2.11:8080");
  proxy::describe_outbound(*p, web, "spiffe://cluster.local/ns/shop/sa/web", &reviews, &endpoint, out);
  CHECK(out.reporter == telemetry::Reporter::Source);
  CHECK(out.source.workload == "web");
  CHECK(out.destination.workload == "reviews-v1");
  CHECK(out.destination.principal == "spiffe://cluster.local/ns/shop/sa/reviews");
  CHECK(out.destination_service == "reviews.shop.svc.cluster.local");
  REQUIRE(out.endpoint.has_value());
  CHECK(*out.endpoint == endpoint);
}

TEST_CASE("x-request-id is a version 4 UUID, different each time") {
  base::SplitMix64 random{1};
  std::regex uuid("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string id = proxy::new_request_id(random);
    CHECK(std::regex_match(id, uuid));
    seen.insert(id);
  }
  CHECK(seen.size() == 1000);
}
