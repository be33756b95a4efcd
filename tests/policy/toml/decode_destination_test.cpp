// Decoding of [[destination]]: traffic policy tables and subsets.
#include "tests/policy/support.hpp"

using mesh::policy::test::decode;
using mesh::policy::test::decode_errors;
namespace model = mesh::policy::model;

TEST_CASE("a destination's traffic policy tables are decoded with Istio's field names") {
  auto r = decode(R"(
[[destination]]
name = "d"
host = "reviews"
load_balancer = { simple = "LEAST_CONN" }
connection_pool = { tcp = { max_connections = 100, connect_timeout = "3s" }, http = { http1_max_pending_requests = 10, max_retries = 3, idle_timeout = "90s" } }
outlier_detection = { consecutive_5xx_errors = 3, interval = "30s", base_ejection_time = "1m", max_ejection_percent = 50 }
tls = { mode = "istio_mutual" }
)");
  REQUIRE(r.ok());
  const model::TrafficPolicy& p = r.set.destinations.at(0).traffic_policy;
  CHECK(p.load_balancer->simple == model::LbPolicy::LeastRequest);  // least_conn is an alias
  CHECK(p.connection_pool->max_connections == 100);
  CHECK(p.connection_pool->connect_timeout == std::chrono::seconds(3));
  CHECK(p.connection_pool->http1_max_pending_requests == 10);
  CHECK(p.connection_pool->http2_max_requests == UINT32_MAX);  // Istio: unlimited unless set
  CHECK(p.connection_pool->http_idle_timeout == std::chrono::seconds(90));
  CHECK(p.outlier_detection->consecutive_5xx_errors == 3);
  CHECK(p.outlier_detection->base_ejection_time == std::chrono::minutes(1));
  CHECK(p.outlier_detection->min_health_percent == 0);
  CHECK(p.tls->mode == model::ClientTlsMode::IstioMutual);
}

TEST_CASE("consistent hashing takes exactly one key, and not together with simple") {
  auto r = decode("[[destination]]\nname = \"d\"\nhost = \"a\"\n"
                  "load_balancer = { consistent_hash = { http_header_name = \"x-user\", maglev = { table_size = 251 } } }\n");
  REQUIRE(r.ok());
  const auto& h = *r.set.destinations[0].traffic_policy.load_balancer->consistent_hash;
  CHECK(h.key == model::ConsistentHash::Key::Header);
  CHECK(h.algorithm == model::ConsistentHash::Algorithm::Maglev);
  CHECK(h.table_size == 251);
  CHECK(decode_errors("[[destination]]\nname = \"d\"\nhost = \"a\"\n"
                      "load_balancer = { consistent_hash = { http_header_name = \"x\", use_source_ip = true } }\n") ==
        "test.toml:4:37: destination.load_balancer.consistent_hash: give exactly one of http_header_name, http_cookie, "
        "use_source_ip = true, http_query_parameter_name\n");
  CHECK(decode_errors("[[destination]]\nname = \"d\"\nhost = \"a\"\n"
                      "load_balancer = { simple = \"random\", consistent_hash = { use_source_ip = true } }\n") ==
        "test.toml:4:17: destination.load_balancer: set either simple or consistent_hash, not both\n");
}

TEST_CASE("subsets have unique names and labels, and may override the traffic policy") {
  auto r = decode(R"(
[[destination]]
name = "d"
host = "reviews"
[[destination.subsets]]
name = "v1"
labels = { version = "v1" }
load_balancer = { simple = "round_robin" }
)");
  REQUIRE(r.ok());
  CHECK(r.set.destinations[0].subsets[0].traffic_policy.load_balancer->simple == model::LbPolicy::RoundRobin);
  CHECK(decode_errors("[[destination]]\nname = \"d\"\nhost = \"a\"\n"
                      "subsets = [{ name = \"v1\", labels = { v = \"1\" } }, { name = \"v1\", labels = { v = \"2\" } }]\n") ==
        "test.toml:4:51: destination.subsets: subset 'v1' is defined twice\n");
  CHECK(decode_errors("[[destination]]\nname = \"d\"\nhost = \"a\"\nsubsets = [{ name = \"v1\" }]\n") ==
        "test.toml:4:12: destination.subsets: missing required key 'labels'\n");
}

TEST_CASE("mutual client TLS needs a certificate and key") {
  CHECK(decode_errors("[[destination]]\nname = \"d\"\nhost = \"a\"\ntls = { mode = \"mutual\" }\n") ==
        "test.toml:4:7: destination.tls: mode \"mutual\" needs client_certificate and private_key\n");
}
