// Compile passes for workloads, services, externals and gateways.
#include "tests/policy/support.hpp"

using namespace mesh::policy;
using mesh::base::IpAddr;
using test::compile_errors;
using test::must_compile;

namespace {
IpAddr ip(const char* s) { return *IpAddr::parse(s); }
}  // namespace

TEST_CASE("workloads are found by address and by namespace/name, with their SPIFFE identity") {
  auto p = must_compile(R"(
[[workload]]
name = "web-1"
namespace = "shop"
service_account = "web"
addresses = ["198.18.0.1", "2001:db8::1"]
labels = { app = "web" }
node = "node-a"
)");
  const Workload* w = p->workloads().by_ip(ip("2001:db8::1"));
  REQUIRE(w);
  CHECK(w == p->workloads().by_ip(ip("198.18.0.1")));
  CHECK(w == p->workloads().by_name("shop", "web-1"));
  CHECK(w->id == "shop/web-1");
  CHECK(w->identity == "spiffe://cluster.local/ns/shop/sa/web");
  CHECK(w->node == "node-a");
  CHECK_FALSE(p->workloads().by_ip(ip("198.18.0.2")));
  CHECK_FALSE(p->workloads().by_name("default", "web-1"));
}

TEST_CASE("an address used by two workloads is a conflict") {
  CHECK(compile_errors("[[workload]]\nname = \"a\"\naddresses = [\"198.18.0.1\"]\n"
                       "[[workload]]\nname = \"b\"\naddresses = [\"198.18.0.1\"]\n") ==
        "test.toml:6:14: workload 'default/b': address 198.18.0.1 is already used by workload 'default/a' (test.toml:1:1)\n");
}

TEST_CASE("services get their host name, VIP index and endpoints by selector in their namespace") {
  auto p = must_compile(R"(
[[workload]]
name = "r1"
addresses = ["198.18.0.1"]
labels = { app = "reviews", version = "v1" }
[[workload]]
name = "r2"
addresses = ["198.18.0.2"]
labels = { app = "reviews", version = "v2" }
[[workload]]
name = "other-ns"
namespace = "x"
labels = { app = "reviews" }
[[service]]
name = "reviews"
vips = ["198.19.0.1"]
selector = { app = "reviews" }
ports = [{ port = 9080, target_port = 8080, protocol = "http" }]
[[service]]
name = "headless"
)");
  const Service* s = p->services().by_vip(ip("198.19.0.1"));
  REQUIRE(s);
  CHECK(s->hostname == "reviews.default.svc.cluster.local");
  CHECK(s == p->services().by_host("reviews.default.svc.cluster.local"));
  CHECK(s->endpoints == std::vector<uint32_t>{0, 1});
  CHECK(s->port(9080)->target_port == 8080);
  CHECK_FALSE(s->port(80));
  CHECK(p->workloads().all()[0].services == std::vector<uint32_t>{0});
  CHECK(p->workloads().all()[2].services.empty());
  CHECK(p->services().by_name("default", "headless")->endpoints.empty());
}

TEST_CASE("a VIP may not be another service's VIP or a workload's address") {
  CHECK(compile_errors("[[workload]]\nname = \"w\"\naddresses = [\"198.18.0.1\"]\n"
                       "[[service]]\nname = \"a\"\nvips = [\"198.19.0.1\"]\n"
                       "[[service]]\nname = \"b\"\nvips = [\"198.19.0.1\"]\n"
                       "[[service]]\nname = \"c\"\nvips = [\"198.18.0.1\"]\n") ==
        "test.toml:9:9: service 'default/b': VIP 198.19.0.1 is already used by service 'default/a' (test.toml:4:1)\n"
        "test.toml:12:9: service 'default/c': VIP 198.18.0.1 is the address of workload 'default/w' (test.toml:1:1)\n");
}

TEST_CASE("an external host may not be a service's name or another external's host") {
  CHECK(compile_errors("[[service]]\nname = \"s\"\n"
                       "[[external]]\nname = \"a\"\nhosts = [\"s.default.svc.cluster.local\", \"x.example.com\"]\nports = [{ port = 1 }]\n"
                       "[[external]]\nname = \"b\"\nhosts = [\"x.example.com\"]\nports = [{ port = 1 }]\n") ==
        "test.toml:5:10: external 'default/a': host 's.default.svc.cluster.local' is the name of service 'default/s' "
        "(test.toml:1:1)\n"
        "test.toml:9:10: external 'default/b': host 'x.example.com' is already declared by external 'default/a'\n");
}

TEST_CASE("externals are found by host, wildcard host and address") {
  auto p = must_compile("[[external]]\nname = \"e\"\nhosts = [\"*.example.com\"]\naddresses = [\"198.18.128.0/24\"]\n"
                        "ports = [{ port = 443, protocol = \"tls\" }]\n");
  CHECK(p->externals().by_host("a.example.com"));
  CHECK_FALSE(p->externals().by_host("example.com"));
  CHECK(p->externals().by_ip(ip("198.18.128.7")));
  CHECK_FALSE(p->externals().by_ip(ip("198.18.129.7")));
  CHECK(p->externals().all()[0].port(443)->protocol == model::Protocol::Tls);
}

TEST_CASE("gateways select their workloads in any namespace and may not serve one host twice on a port") {
  auto p = must_compile(R"(
[[workload]]
name = "gw"
namespace = "istio-system"
labels = { istio = "ingressgateway" }
[[gateway]]
name = "g"
selector = { istio = "ingressgateway" }
[[gateway.servers]]
port = 443
protocol = "https"
hosts = ["a.example.com"]
tls = { mode = "simple", credential_name = "a" }
[[gateway.servers]]
port = 443
protocol = "https"
hosts = ["b.example.com"]
tls = { mode = "simple", credential_name = "b" }
)");
  CHECK(p->gateways().by_name("default", "g")->workloads == std::vector<uint32_t>{0});
  CHECK(compile_errors("[[gateway]]\nname = \"g\"\nselector = { a = \"b\" }\n"
                       "servers = [{ port = 80, protocol = \"http\", hosts = [\"*\"] }, { port = 80, protocol = \"http\", hosts = [\"a.com\"] }]\n") ==
        "test.toml:4:102: gateway 'default/g': port 80 host 'a.com' is already served by the server at test.toml:4:12\n");
}
