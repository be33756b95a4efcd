// Compile pass for [[destination]].
#include "tests/policy/support.hpp"

using namespace mesh::policy;
using test::compile_errors;
using test::must_compile;

namespace {
const std::string kInventory = R"(
[[workload]]
name = "r1"
labels = { app = "reviews", version = "v1" }
[[workload]]
name = "r2"
labels = { app = "reviews", version = "v2" }
[[workload]]
name = "r3"
labels = { app = "reviews", version = "v2" }
[[service]]
name = "reviews"
selector = { app = "reviews" }
ports = [{ port = 9080, protocol = "http" }]
)";
}  // namespace

TEST_CASE("a destination gets Istio's defaults: least request, unlimited pool, no outlier detection") {
  auto p = must_compile(kInventory + "[[destination]]\nname = \"d\"\nhost = \"reviews\"\n");
  const Destination* d = p->destinations().for_host("reviews.default.svc.cluster.local");
  REQUIRE(d);
  CHECK(d->id == "default/d");
  CHECK(d->traffic_policy.load_balancer.simple == model::LbPolicy::LeastRequest);
  CHECK(d->traffic_policy.connection_pool.max_connections == UINT32_MAX);
  CHECK(d->traffic_policy.connection_pool.connect_timeout == std::chrono::seconds(10));
  CHECK_FALSE(d->traffic_policy.outlier_detection);
}

TEST_CASE("subsets select the service's endpoints by label and replace policy tables they set") {
  auto p = must_compile(kInventory + R"(
[[destination]]
name = "d"
host = "reviews.default"
load_balancer = { simple = "random" }
outlier_detection = { consecutive_5xx_errors = 3 }
[[destination.subsets]]
name = "v2"
labels = { version = "v2" }
load_balancer = { simple = "round_robin" }
[[destination.subsets]]
name = "v3"
labels = { version = "v3" }
)");
  const Destination* d = p->destinations().for_host("reviews.default.svc.cluster.local");
  REQUIRE(d);
  const Subset* v2 = d->subset("v2");
  REQUIRE(v2);
  CHECK(v2->endpoints == std::vector<uint32_t>{1, 2});
  CHECK(v2->traffic_policy.load_balancer.simple == model::LbPolicy::RoundRobin);
  CHECK(v2->traffic_policy.outlier_detection->consecutive_5xx_errors == 3);  // inherited
  CHECK(d->subset("v3")->endpoints.empty());  // like Istio: valid, but it has no endpoints
  CHECK(d->subset("v3")->traffic_policy.load_balancer.simple == model::LbPolicy::Random);
  CHECK_FALSE(d->subset("v4"));
}

TEST_CASE("a destination must name a known host, once") {
  CHECK(compile_errors(kInventory + "[[destination]]\nname = \"d\"\nhost = \"reviewz\"\n") ==
        "test.toml:17:8: destination 'default/d': unknown host 'reviewz' (not a [[service]] or [[external]] host); did "
        "you mean 'reviews.default.svc.cluster.local'?\n");
  CHECK(compile_errors(kInventory + "[[destination]]\nname = \"a\"\nhost = \"reviews\"\n"
                                    "[[destination]]\nname = \"b\"\nhost = \"reviews.default.svc.cluster.local\"\n") ==
        "test.toml:20:8: destination 'default/b': host 'reviews.default.svc.cluster.local' already has destination "
        "'default/a' (test.toml:15:1); merge them\n");
}
