// Rendering explanations as text and JSON.
#include <nlohmann/json.hpp>

#include "policy/explain.hpp"
#include "tests/policy/support.hpp"

using namespace mesh::policy;

namespace {
const char* kMesh = R"(
[[workload]]
name = "web"
service_account = "web"
addresses = ["198.18.0.1"]
[[workload]]
name = "api"
addresses = ["198.18.0.2"]
labels = { app = "api" }
[[service]]
name = "api"
selector = { app = "api" }
ports = [{ port = 80, protocol = "http" }]
[[route]]
name = "api"
hosts = ["api"]
[[route.http]]
name = "all"
to = [{ host = "api" }]
timeout = "2s"
retries = { attempts = 3, per_try_timeout = "500ms", retry_on = "5xx" }
[[authorization]]
name = "deny-delete"
selector = { app = "api" }
action = "deny"
rules = [{ to = [{ methods = ["DELETE"] }] }]
)";
}  // namespace

TEST_CASE("the text form names the route rule, its resilience settings and each endpoint's decision") {
  auto p = test::must_compile(kMesh);
  auto e = explain(*p, {"web", "api:80", "DELETE", "/x", {{"x-a", "1"}}});
  REQUIRE(e);
  CHECK(to_text(*p, *e) ==
        "source       spiffe://cluster.local/ns/default/sa/web (workload default/web) from 198.18.0.1\n"
        "destination  api.default.svc.cluster.local:80 (service default/api, protocol http)\n"
        "request      DELETE /x x-a: 1\n"
        "route        http rule 0 'all' of route default/api (test.toml:17:1)\n"
        "             timeout 2s; 3 retries of 500ms each on 5xx\n"
        "             -> api.default.svc.cluster.local, weight 100, 0 of 1 endpoints allowed\n"
        "                default/api (198.18.0.2:80): deny: a DENY rule matched (rule 0 of DENY authorization "
        "'default/deny-delete' (test.toml:26:10))\n"
        "                mtls permissive\n"
        "decision     deny\n");
}

TEST_CASE("the JSON form carries the same facts for programs") {
  auto p = test::must_compile(kMesh);
  auto e = explain(*p, {"web", "api:80", "GET", "/", {}});
  REQUIRE(e);
  auto j = nlohmann::json::parse(to_json(*p, *e));
  CHECK(j["decision"] == "allow");
  CHECK(j["source"]["workload"] == "default/web");
  CHECK(j["destination"]["kind"] == "service");
  CHECK(j["route"]["outcome"] == "matched");
  CHECK(j["route"]["rule_name"] == "all");
  CHECK(j["route"]["timeout"] == "2s");
  CHECK(j["targets"][0]["endpoints"][0]["verdict"] == "allow");
  CHECK(j["targets"][0]["endpoints"][0]["reason"] == "no ALLOW policy applies");
  CHECK(j["targets"][0]["endpoints"][0]["mtls"]["mode"] == "permissive");
  auto direct = explain(*p, {"web", "default/api:80", "", "", {}});
  REQUIRE(direct);
  auto jd = nlohmann::json::parse(to_json(*p, *direct));
  CHECK(jd["request"].is_null());
  CHECK(jd["destination"]["kind"] == "workload");
}

TEST_CASE("invalid UTF-8 in a query is replaced in the JSON, not thrown") {
  // Found by fuzzing: nlohmann::json throws on invalid UTF-8 when dumping.
  auto p = test::must_compile(kMesh);
  auto e = explain(*p, {"spiffe://cluster.local/ns/x/sa/\x80", "api:80", "GET", "/", {{"x", "\xff"}}});
  REQUIRE(e);
  std::string out = to_json(*p, *e);
  CHECK(out.find("\"identity\": \"spiffe://cluster.local/ns/x/sa/\xef\xbf\xbd\"") != std::string::npos);
}
