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

namespace {
const std::string kActions = std::string(kMesh) + R"(
[[service]]
name = "shadow"
ports = [{ port = 80, protocol = "http" }]
[[route]]
name = "edge"
hosts = ["shadow"]
[[route.http]]
name = "old"
match = [{ path = { prefix = "/old/" } }]
redirect = { scheme = "https", path = "/new", code = 308 }
[[route.http]]
name = "v2"
match = [{ path = { prefix = "/api/" } }]
to = [{ host = "api" }]
rewrite = { path = "/v2/", authority = "api.internal" }
request_headers = { remove = ["cookie"], set = { x-env = "prod" }, add = { x-hop = "edge" } }
response_headers = { set = { server = "meshd" } }
mirror = { host = "api", port = 80, percentage = 2.5 }
[[route.http]]
name = "chaos"
to = [{ host = "api" }]
fault = { delay = { fixed_delay = "5s", percentage = 10 }, abort = { http_status = 503, percentage = 0.5 } }
)";
}  // namespace

TEST_CASE("the text form names the actions the matched rule applies to the request") {
  auto p = test::must_compile(kActions);
  auto rewrite = explain(*p, {"web", "shadow:80", "GET", "/api/users?id=1", {}});
  REQUIRE(rewrite);
  std::string text = to_text(*p, *rewrite);
  CHECK(text.find("             timeout none; 2 retries on connect-failure,refused-stream,retriable-status-codes,"
                  "cancelled,unavailable,503 (Istio's default)\n"
                  "             rewrite path /api/users?id=1 -> /v2/users?id=1\n"
                  "             rewrite authority -> api.internal\n"
                  "             request headers: remove cookie; set x-env: prod; add x-hop: edge\n"
                  "             response headers: set server: meshd\n"
                  "             mirror 2.5% of requests to api.default.svc.cluster.local port 80 (answers ignored)\n"
                  "             -> api.default.svc.cluster.local, weight 100, 1 of 1 endpoints allowed\n") !=
        std::string::npos);
  auto redirect = explain(*p, {"web", "shadow:80", "GET", "/old/x?q=1", {}});
  REQUIRE(redirect);
  text = to_text(*p, *redirect);
  CHECK(text.find("route        http rule 0 'old' of route default/edge (test.toml:34:1)\n"
                  "             redirect 308 to https://shadow/new?q=1\n"
                  "decision     redirect\n") != std::string::npos);
  auto fault = explain(*p, {"web", "shadow:80", "GET", "/", {}});
  REQUIRE(fault);
  CHECK(to_text(*p, *fault).find("             timeout none; no retries\n"
                                 "             fault: delay 5s for 10% of requests\n"
                                 "             fault: abort with 503 for 0.5% of requests\n") != std::string::npos);
}

TEST_CASE("the JSON form lists the actions with the values the data path will use") {
  auto p = test::must_compile(kActions);
  auto e = explain(*p, {"web", "shadow:80", "GET", "/api/users", {}});
  REQUIRE(e);
  auto j = nlohmann::json::parse(to_json(*p, *e));
  const auto& a = j["route"]["actions"];
  CHECK(a["rewrite_path"]["path"] == "/v2/users");
  CHECK(a["rewrite_authority"] == "api.internal");
  CHECK(a["request_headers"]["remove"][0] == "cookie");
  CHECK(a["request_headers"]["set"]["x-env"] == "prod");
  CHECK(a["mirror"]["percentage"] == 2.5);
  CHECK(a["mirror"]["cluster"] == "outbound|80||api.default.svc.cluster.local");
  CHECK(j["targets"][0]["cluster"] == "outbound|80||api.default.svc.cluster.local");
  auto r = explain(*p, {"web", "shadow:80", "GET", "/old/", {}});
  REQUIRE(r);
  auto jr = nlohmann::json::parse(to_json(*p, *r));
  CHECK(jr["route"]["redirect"] == 308);
  CHECK(jr["route"]["actions"]["redirect"]["location"] == "https://shadow/new");
  CHECK(jr["decision"] == "redirect");
  auto f = explain(*p, {"web", "shadow:80", "GET", "/", {}});
  REQUIRE(f);
  auto jf = nlohmann::json::parse(to_json(*p, *f));
  CHECK(jf["route"]["fault"] == true);
  CHECK(jf["route"]["actions"]["fault_abort"]["http_status"] == 503);
  CHECK(jf["route"]["actions"]["fault_delay"]["delay"] == "5s");
}
