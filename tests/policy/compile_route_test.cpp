// Compile pass for [[route]]: host binding, destinations, weights, matchers, retries.
#include "tests/policy/support.hpp"

using namespace mesh::policy;
using test::compile_errors;
using test::must_compile;

namespace {
const std::string kInventory = R"(
[[workload]]
name = "r1"
labels = { app = "reviews", version = "v1" }
[[service]]
name = "reviews"
selector = { app = "reviews" }
ports = [{ port = 9080, protocol = "http" }]
[[service]]
name = "ratings"
[[destination]]
name = "reviews"
host = "reviews"
subsets = [{ name = "v1", labels = { version = "v1" } }, { name = "v2", labels = { version = "v2" } }]
)";
// Line numbers below count from the first line of this inventory (line 1 is empty).

std::string route(const std::string& rule, const std::string& extra = "") {
  return kInventory + "[[route]]\nname = \"r\"\nhosts = [\"reviews\"]\n" + extra + "[[route.http]]\n" + rule + "\n";
}
}  // namespace

TEST_CASE("a route's rules keep their order and their targets are resolved") {
  auto p = must_compile(route("to = [{ host = \"reviews\", subset = \"v1\", weight = 90 }, { host = \"ratings\", weight = 10 }]\n"
                              "timeout = \"3s\"\n"));
  const Route* r = p->routes().for_host("reviews.default.svc.cluster.local");
  REQUIRE(r);
  CHECK(r->id == "default/r");
  const HttpRule& rule = r->http.at(0);
  REQUIRE(rule.targets.size() == 2);
  CHECK(rule.targets[0].service == p->services().by_name("default", "reviews"));
  CHECK(rule.targets[0].subset == p->destinations().all()[0].subset("v1"));
  CHECK(rule.targets[1].host == "ratings.default.svc.cluster.local");
  CHECK(rule.cumulative == std::vector<uint32_t>{90, 100});
  CHECK(rule.actions.timeout == std::chrono::seconds(3));
  CHECK_FALSE(p->routes().for_host("ratings.default.svc.cluster.local"));
}

TEST_CASE("weights must sum to 100 and are required when there are several destinations") {
  CHECK(compile_errors(route("to = [{ host = \"reviews\", weight = 50 }, { host = \"ratings\", weight = 40 }]")) ==
        "test.toml:18:1: route rule: destination weights sum to 90; they must sum to 100\n");
  CHECK(compile_errors(route("to = [{ host = \"reviews\", weight = 50 }, { host = \"ratings\" }]")) ==
        "test.toml:19:42: route destination: with several destinations each needs a weight (0-100)\n");
  CHECK(compile_errors(route("to = [{ host = \"reviews\", weight = 60 }]")) ==
        "test.toml:19:36: route rule: destination weights sum to 60; they must sum to 100\n");
  must_compile(route("to = [{ host = \"reviews\", weight = 100 }, { host = \"ratings\", weight = 0 }]"));
}

TEST_CASE("subsets and ports of destinations must exist") {
  CHECK(compile_errors(route("to = [{ host = \"reviews\", subset = \"v3\" }]")) ==
        "test.toml:19:36: route destination: unknown subset 'v3' of host 'reviews.default.svc.cluster.local' "
        "(destination 'default/reviews' at test.toml:11:1); did you mean 'v1'?\n");
  CHECK(compile_errors(route("to = [{ host = \"ratings\", subset = \"v1\" }]")) ==
        "test.toml:19:36: route destination: subset 'v1' of host 'ratings.default.svc.cluster.local' is not defined: no "
        "[[destination]] for this host\n");
  CHECK(compile_errors(route("to = [{ host = \"reviews\", port = 80 }]")) ==
        "test.toml:19:7: route destination: host 'reviews.default.svc.cluster.local' has no port 80\n");
}

TEST_CASE("a host is routed by one route per gateway") {
  CHECK(compile_errors(route("to = [{ host = \"reviews\" }]") +
                       "[[route]]\nname = \"r2\"\nhosts = [\"reviews.default\"]\n[[route.http]]\nto = [{ host = \"reviews\" }]\n") ==
        "test.toml:22:10: route 'default/r2': host 'reviews.default.svc.cluster.local' on gateway 'mesh' is already routed "
        "by route 'default/r' (test.toml:15:1)\n");
}

TEST_CASE("gateway routes name known gateways and hosts those gateways serve") {
  const std::string gw = "[[gateway]]\nname = \"ingress\"\nnamespace = \"istio-system\"\nselector = { istio = \"ingress\" }\n"
                         "servers = [{ port = 80, protocol = \"http\", hosts = [\"*.example.com\"] }]\n";
  auto p = must_compile(gw + route("to = [{ host = \"reviews\" }]") +
                        "[[route]]\nname = \"edge\"\nhosts = [\"shop.example.com\"]\ngateways = [\"istio-system/ingress\"]\n"
                        "[[route.http]]\nto = [{ host = \"reviews\" }]\n");
  CHECK(p->routes().for_host("shop.example.com", "istio-system/ingress")->id == "default/edge");
  CHECK_FALSE(p->routes().for_host("shop.example.com"));
  CHECK_FALSE(p->routes().for_host("reviews.default.svc.cluster.local", "istio-system/ingress"));
  // Bound to the mesh as well, the host must then be a mesh host.
  CHECK(compile_errors(gw + "[[route]]\nname = \"e\"\nhosts = [\"shop.example.com\"]\ngateways = [\"istio-system/ingress\", \"mesh\"]\n"
                            "[[route.http]]\nto = [{ host = \"x\" }]\n")
            .find("test.toml:8:10: route 'default/e': unknown host 'shop.example.com'") == 0);
  CHECK(compile_errors(gw + "[[route]]\nname = \"e\"\nhosts = [\"shop.example.org\"]\ngateways = [\"istio-system/ingress\"]\n"
                            "[[route.http]]\nto = [{ host = \"x\" }]\n")
            .find("test.toml:8:10: route 'default/e': host 'shop.example.org' is not served by gateway 'istio-system/ingress'") == 0);
  CHECK(compile_errors(gw + "[[route]]\nname = \"e\"\nhosts = [\"shop.example.org\"]\ngateways = [\"istio-system/ingres\"]\n"
                            "[[route.http]]\nto = [{ host = \"x\" }]\n")
            .find("test.toml:9:13: route 'default/e': unknown gateway 'istio-system/ingres'; did you mean "
                  "'istio-system/ingress'?\n") == 0);
}

TEST_CASE("a route on the mesh must name a known host; a wildcard host is allowed") {
  CHECK(compile_errors(kInventory + "[[route]]\nname = \"r\"\nhosts = [\"review\"]\n[[route.http]]\nto = [{ host = \"reviews\" }]\n") ==
        "test.toml:17:10: route 'default/r': unknown host 'review' (not a [[service]] or [[external]] host); did you mean "
        "'reviews.default.svc.cluster.local'?\n");
  auto p = must_compile(kInventory + "[[external]]\nname = \"e\"\nhosts = [\"*.example.com\"]\nports = [{ port = 443 }]\n"
                                     "[[route]]\nname = \"r\"\nhosts = [\"*.example.com\"]\n[[route.tcp]]\nto = [{ host = \"reviews\" }]\n");
  CHECK(p->routes().for_host("api.example.com"));
}

TEST_CASE("without a retries table a rule gets Istio's default retry policy, and none with a fault") {
  auto p = must_compile(route("to = [{ host = \"reviews\" }]") + "[[route.http]]\nto = [{ host = \"reviews\" }]\n"
                                                                 "fault = { abort = { http_status = 503 } }\n"
                                                                 "[[route.http]]\nto = [{ host = \"reviews\" }]\n"
                                                                 "retries = { attempts = 4, retry_on = \"5xx,gateway-error,409\" }\n");
  const auto& rules = p->routes().all()[0].http;
  CHECK(rules[0].actions.retries.istio_default);
  CHECK(rules[0].actions.retries.attempts == 2);
  CHECK(rules[0].actions.retries.on == (kRetryConnectFailure | kRetryRefusedStream | kRetryUnavailable | kRetryCancelled |
                                kRetryRetriableStatusCodes));
  CHECK(rules[0].actions.retries.status_codes == std::vector<uint16_t>{503});
  CHECK(rules[1].actions.retries.attempts == 0);
  CHECK(rules[2].actions.retries.attempts == 4);
  CHECK(rules[2].actions.retries.on == (kRetry5xx | kRetryGatewayError | kRetryRetriableStatusCodes));
  CHECK(rules[2].actions.retries.status_codes == std::vector<uint16_t>{409});
  CHECK(compile_errors(route("to = [{ host = \"reviews\" }]\ntimeout = \"1s\"\nfault = { abort = { http_status = 503 } }")) ==
        "test.toml:21:9: route rule: a rule with fault injection has no timeout or retries (as in Istio); remove them, or "
        "inject the fault in a separate rule\n");
}

TEST_CASE("match blocks compile their string matchers, and a bad regex is reported at the regex") {
  auto p = must_compile(route("match = [{ path = { regex = \"/api/v[0-9]+/.*\" } }, { method = { prefix = \"PO\" } }]\n"
                              "to = [{ host = \"reviews\" }]"));
  const HttpRule& rule = p->routes().all()[0].http[0];
  REQUIRE(rule.matches.size() == 2);
  CHECK(rule.matches[0].path->matches("/api/v2/users"));
  CHECK_FALSE(rule.matches[0].path->matches("/api/vx/users"));
  CHECK(rule.matches[1].method->matches("POST"));
  CHECK(compile_errors(route("match = [{ path = { regex = \"/api/(\" } }]\nto = [{ host = \"reviews\" }]")) ==
        "test.toml:19:29: invalid regex '/api/(': missing ): /api/(\n");
}

TEST_CASE("a tcp rule's destinations are resolved like an http rule's") {
  auto p = must_compile(kInventory + "[[route]]\nname = \"r\"\nhosts = [\"ratings\"]\n[[route.tcp]]\nname = \"all\"\n"
                                     "to = [{ host = \"reviews\", port = 9080 }]\n");
  const TcpRule& rule = p->routes().all()[0].tcp.at(0);
  CHECK(rule.name == "all");
  CHECK(rule.targets.at(0).port == 9080);
  CHECK(rule.cumulative == std::vector<uint32_t>{100});
}

TEST_CASE("each service points at its mesh route and destination, wildcard routes included") {
  auto p = must_compile(kInventory + "[[route]]\nname = \"r\"\nhosts = [\"reviews\"]\n[[route.http]]\nto = [{ host = \"reviews\" }]\n"
                                     "[[route]]\nname = \"all\"\nhosts = [\"*.default.svc.cluster.local\"]\n[[route.http]]\n"
                                     "to = [{ host = \"ratings\" }]\n");
  const Service* reviews = p->services().by_name("default", "reviews");
  const Service* ratings = p->services().by_name("default", "ratings");
  CHECK(reviews->route->id == "default/r");
  CHECK(reviews->destination->id == "default/reviews");
  CHECK(ratings->route->id == "default/all");
  CHECK(ratings->destination == nullptr);
}
