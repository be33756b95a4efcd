// Authorization: the precedence table of policy/engine.cpp, row by row, and the matching of
// each attribute.
#include "policy/engine.hpp"

#include "tests/policy/support.hpp"

using namespace mesh::policy;
using mesh::base::IpAddr;
using test::must_compile;

namespace {

const char* kPolicy = R"(
[[workload]]
name = "api"
namespace = "shop"
service_account = "api"
addresses = ["198.18.0.1"]
labels = { app = "api" }
[[workload]]
name = "db"
namespace = "shop"
addresses = ["198.18.0.2"]
labels = { app = "db" }
[[workload]]
name = "open"
namespace = "blog"
addresses = ["198.18.0.3"]
labels = { app = "open" }
[[workload]]
name = "locked"
namespace = "blog"
addresses = ["198.18.0.4"]
labels = { app = "locked" }
[[workload]]
name = "vault"
namespace = "vault"
addresses = ["198.18.0.5"]

[[peer_authentication]]
name = "vault"
namespace = "vault"
mode = "strict"

[[authorization]]
name = "mesh-deny"
namespace = "istio-system"
action = "deny"
rules = [{ from = [{ ip_blocks = ["198.18.99.0/24"] }] }]

[[authorization]]
name = "db-allow"
namespace = "shop"
selector = { app = "db" }
rules = [{ from = [{ principals = ["cluster.local/ns/shop/sa/api", "cluster.local/ns/blog/sa/api"] }], to = [{ ports = [5432] }] }]

[[authorization]]
name = "db-deny"
namespace = "shop"
selector = { app = "db" }
action = "deny"
rules = [{ from = [{ namespaces = ["blog"] }] }]

[[authorization]]
name = "api-allow"
namespace = "shop"
selector = { app = "api" }
rules = [{ to = [{ methods = ["GET"], paths = ["/public/*"] }] }, { from = [{ namespaces = ["shop"] }] }]

[[authorization]]
name = "api-deny"
namespace = "shop"
selector = { app = "api" }
action = "deny"
rules = [{ to = [{ methods = ["DELETE"] }] }]

[[authorization]]
name = "api-audit"
namespace = "shop"
selector = { app = "api" }
action = "audit"
rules = [{}]

[[authorization]]
name = "nothing"
namespace = "blog"
selector = { app = "locked" }
)";

enum class Mode { Opaque, Http, Request };

struct Case {
  const char* name;
  const char* identity;  // "" = plaintext
  const char* source_ip;
  const char* destination;  // "ns/name", "" = not a workload
  uint16_t port;
  Mode mode;
  const char* method;
  const char* path;
  Verdict verdict;
  Reason reason;
  const char* decided_by;  // policy id of the deciding rule, "" = none
};

constexpr const char* kShopApi = "spiffe://cluster.local/ns/shop/sa/api";
constexpr const char* kBlogApi = "spiffe://cluster.local/ns/blog/sa/api";

// Mirrors the table in policy/engine.cpp.
const Case kCases[] = {
    {"step 0: STRICT refuses a plaintext peer", "", "198.18.0.9", "vault/vault", 80, Mode::Opaque, "", "", Verdict::Deny,
     Reason::MtlsRequired, ""},
    {"step 0: STRICT admits an mTLS peer", kShopApi, "198.18.0.9", "vault/vault", 80, Mode::Opaque, "", "", Verdict::Allow,
     Reason::NoAllowPolicy, ""},
    {"step 1: not a workload", kShopApi, "198.18.0.9", "", 80, Mode::Opaque, "", "", Verdict::Allow, Reason::NotAWorkload, ""},
    {"step 2: a mesh-wide DENY applies to every workload", kShopApi, "198.18.99.7", "blog/open", 80, Mode::Opaque, "", "",
     Verdict::Deny, Reason::DenyMatched, "istio-system/mesh-deny"},
    {"step 2: DENY beats a matching ALLOW", kBlogApi, "198.18.0.9", "shop/db", 5432, Mode::Opaque, "", "", Verdict::Deny,
     Reason::DenyMatched, "shop/db-deny"},
    {"step 4: no ALLOW policy applies", "", "198.18.0.9", "blog/open", 80, Mode::Opaque, "", "", Verdict::Allow,
     Reason::NoAllowPolicy, ""},
    {"step 5: an ALLOW rule matches", kShopApi, "198.18.0.9", "shop/db", 5432, Mode::Opaque, "", "", Verdict::Allow,
     Reason::AllowMatched, "shop/db-allow"},
    {"step 6: ALLOW policies apply but the port does not match", kShopApi, "198.18.0.9", "shop/db", 80, Mode::Opaque, "",
     "", Verdict::Deny, Reason::NoAllowMatched, ""},
    {"step 6: an ALLOW policy without rules denies everything", kShopApi, "198.18.0.9", "blog/locked", 80, Mode::Opaque,
     "", "", Verdict::Deny, Reason::NoAllowMatched, ""},
    {"TCP: a DENY rule with HTTP fields matches on its L4 part", kShopApi, "198.18.0.9", "shop/api", 80, Mode::Opaque, "",
     "", Verdict::Deny, Reason::DenyMatched, "shop/api-deny"},
    {"HTTP connection: a DENY rule with HTTP fields defers to each request", kShopApi, "198.18.0.9", "shop/api", 80,
     Mode::Http, "", "", Verdict::PerRequest, Reason::DependsOnRequest, "shop/api-deny"},
    {"request: an allowed GET under /public", kBlogApi, "198.18.0.9", "shop/api", 80, Mode::Request, "GET",
     "/public/a?x=1", Verdict::Allow, Reason::AllowMatched, "shop/api-allow"},
    {"request: any method from the shop namespace", kShopApi, "198.18.0.9", "shop/api", 80, Mode::Request, "POST",
     "/private", Verdict::Allow, Reason::AllowMatched, "shop/api-allow"},
    {"request: DELETE is denied even from shop", kShopApi, "198.18.0.9", "shop/api", 80, Mode::Request, "DELETE",
     "/public/a", Verdict::Deny, Reason::DenyMatched, "shop/api-deny"},
    {"request: POST from elsewhere matches no ALLOW rule", kBlogApi, "198.18.0.9", "shop/api", 80, Mode::Request, "POST",
     "/private", Verdict::Deny, Reason::NoAllowMatched, ""},
    {"request: a rule without from admits plaintext", "", "198.18.0.9", "shop/api", 80, Mode::Request, "GET", "/public/b",
     Verdict::Allow, Reason::AllowMatched, "shop/api-allow"},
};

AuthzDecision run(const CompiledPolicy& p, const Case& c) {
  const Workload* dst = nullptr;
  if (*c.destination) {
    std::string_view d = c.destination;
    dst = p.workloads().by_name(d.substr(0, d.find('/')), d.substr(d.find('/') + 1));
    REQUIRE(dst);
  }
  ConnectionAttrs conn{c.identity, *IpAddr::parse(c.source_ip), dst, dst ? dst->addresses[0] : IpAddr{}, c.port};
  if (c.mode == Mode::Request) {
    RequestAttrs req{c.method, c.path, "api.shop:80", "http", {}};
    return authorize_request(p, conn, req);
  }
  return authorize_connection(p, conn, c.mode == Mode::Http ? Transport::Http : Transport::Opaque);
}

}  // namespace

TEST_CASE("authorization follows the precedence table: mTLS, DENY, AUDIT, no ALLOW, ALLOW, default deny") {
  auto p = must_compile(kPolicy);
  for (const Case& c : kCases) {
    CAPTURE(c.name);
    AuthzDecision d = run(*p, c);
    CHECK(d.verdict == c.verdict);
    CHECK(d.reason == c.reason);
    CHECK((d.rule ? d.rule.policy->id : std::string()) == c.decided_by);
  }
}

TEST_CASE("an AUDIT match is recorded without changing the verdict") {
  auto p = must_compile(kPolicy);
  AuthzDecision d = run(*p, kCases[11]);
  CHECK(d.verdict == Verdict::Allow);
  REQUIRE(d.audit);
  CHECK(d.audit.policy->id == "shop/api-audit");
  CHECK_FALSE(run(*p, kCases[5]).audit);
}

TEST_CASE("describe names the verdict, the reason and the rule with its location") {
  auto p = must_compile(kPolicy);
  CHECK(describe(*p, run(*p, kCases[4])) ==
        "deny: a DENY rule matched (rule 0 of DENY authorization 'shop/db-deny' (test.toml:50:10))");
  CHECK(describe(*p, run(*p, kCases[0])) ==
        "deny: mTLS is required (STRICT) and the connection is plaintext (peer_authentication 'vault/vault' at "
        "test.toml:28:1)");
}

namespace {

// One ALLOW rule on a workload "w", evaluated for one request from the given identity/ip.
AuthzDecision allow_rule(const std::string& rule, std::string_view identity, const RequestAttrs* req,
                         const char* source_ip = "198.18.0.9", uint16_t port = 8080) {
  auto p = must_compile("[[workload]]\nname = \"w\"\naddresses = [\"198.18.0.1\"]\n"
                        "[[authorization]]\nname = \"a\"\nrules = [" + rule + "]\n");
  ConnectionAttrs conn{identity, *IpAddr::parse(source_ip), &p->workloads().all()[0], *IpAddr::parse("198.18.0.1"), port};
  return req ? authorize_request(*p, conn, *req) : authorize_connection(*p, conn, Transport::Opaque);
}

bool allowed(const std::string& rule, std::string_view identity, const RequestAttrs* req = nullptr,
             const char* source_ip = "198.18.0.9", uint16_t port = 8080) {
  return allow_rule(rule, identity, req, source_ip, port).verdict == Verdict::Allow;
}

}  // namespace

TEST_CASE("principals match the identity without spiffe://, with Istio's prefix, suffix and presence forms") {
  const char* id = "spiffe://cluster.local/ns/shop/sa/api";
  CHECK(allowed("{ from = [{ principals = [\"cluster.local/ns/shop/sa/api\"] }] }", id));
  CHECK(allowed("{ from = [{ principals = [\"cluster.local/ns/shop/*\"] }] }", id));
  CHECK(allowed("{ from = [{ principals = [\"*/sa/api\"] }] }", id));
  CHECK_FALSE(allowed("{ from = [{ principals = [\"*/sa/web\"] }] }", id));
  CHECK(allowed("{ from = [{ principals = [\"*\"] }] }", id));
  CHECK_FALSE(allowed("{ from = [{ principals = [\"*\"] }] }", ""));  // "*" needs an identity
  CHECK(allowed("{ from = [{ not_principals = [\"*/sa/web\"] }] }", id));
  CHECK(allowed("{ from = [{ not_principals = [\"*\"] }] }", ""));  // not_ passes when absent
  CHECK_FALSE(allowed("{ from = [{ not_principals = [\"*\"] }] }", id));
}

TEST_CASE("namespaces come from the peer identity and need mTLS") {
  const char* id = "spiffe://cluster.local/ns/shop/sa/api";
  CHECK(allowed("{ from = [{ namespaces = [\"shop\"] }] }", id));
  CHECK(allowed("{ from = [{ namespaces = [\"sh*\"] }] }", id));
  CHECK_FALSE(allowed("{ from = [{ namespaces = [\"shop\"] }] }", ""));
  CHECK_FALSE(allowed("{ from = [{ not_namespaces = [\"shop\"] }] }", id));
  CHECK(allowed("{ from = [{ not_namespaces = [\"shop\"] }] }", ""));
}

TEST_CASE("within a source all fields must match; sources and rules are alternatives") {
  const char* id = "spiffe://cluster.local/ns/shop/sa/api";
  CHECK_FALSE(allowed("{ from = [{ namespaces = [\"shop\"], ip_blocks = [\"198.18.1.0/24\"] }] }", id));
  CHECK(allowed("{ from = [{ namespaces = [\"shop\"], ip_blocks = [\"198.18.0.0/24\"] }] }", id));
  CHECK(allowed("{ from = [{ namespaces = [\"blog\"] }, { ip_blocks = [\"198.18.0.9\"] }] }", id));
  CHECK(allowed("{ from = [{ namespaces = [\"blog\"] }] }, { to = [{ ports = [8080] }] }", id));
  CHECK_FALSE(allowed("{ from = [{ not_ip_blocks = [\"198.18.0.0/16\"] }] }", id));
}

TEST_CASE("operations match ports at L4 and hosts, methods and paths per request") {
  std::vector<Header> headers;
  RequestAttrs get{"GET", "/api/users?id=7", "Shop.Example.COM:8080", "http", headers};
  CHECK(allowed("{ to = [{ ports = [8080] }] }", ""));
  CHECK_FALSE(allowed("{ to = [{ not_ports = [8080] }] }", ""));
  CHECK(allowed("{ to = [{ hosts = [\"shop.example.com\"], methods = [\"GET\"], paths = [\"/api/users\"] }] }", "", &get));
  CHECK(allowed("{ to = [{ hosts = [\"*.example.com\"], paths = [\"/api/*\"] }] }", "", &get));
  CHECK_FALSE(allowed("{ to = [{ methods = [\"POST\"] }] }", "", &get));
  CHECK_FALSE(allowed("{ to = [{ not_paths = [\"/api/*\"] }] }", "", &get));
  // At connection time on an opaque connection an ALLOW rule with HTTP fields cannot match.
  CHECK(allow_rule("{ to = [{ methods = [\"GET\"] }] }", "", nullptr).reason == Reason::NoAllowMatched);
}

TEST_CASE("when conditions read L4 attributes and request headers") {
  std::vector<Header> headers{{"X-Token", "secret"}, {"x-env", "prod"}};
  RequestAttrs req{"GET", "/", "w", "http", headers};
  CHECK(allowed("{ when = [{ key = \"request.headers[x-token]\", values = [\"secret\"] }] }", "", &req));
  CHECK(allowed("{ when = [{ key = \"request.headers[x-env]\", not_values = [\"dev*\"] }] }", "", &req));
  CHECK_FALSE(allowed("{ when = [{ key = \"request.headers[x-missing]\", values = [\"*\"] }] }", "", &req));
  CHECK(allowed("{ when = [{ key = \"source.ip\", values = [\"198.18.0.0/24\"] }] }", ""));
  CHECK(allowed("{ when = [{ key = \"destination.ip\", values = [\"198.18.0.1\"] }] }", ""));
  CHECK(allowed("{ when = [{ key = \"destination.port\", values = [\"8080\"] }] }", ""));
  CHECK_FALSE(allowed("{ when = [{ key = \"destination.port\", not_values = [\"8080\"] }] }", ""));
  CHECK(allowed("{ when = [{ key = \"source.namespace\", values = [\"shop\"] }] }", "spiffe://cluster.local/ns/shop/sa/x"));
  CHECK(allowed("{ when = [{ key = \"source.principal\", values = [\"*/sa/x\"] }] }", "spiffe://cluster.local/ns/shop/sa/x"));
  // All conditions must hold.
  CHECK_FALSE(allowed("{ when = [{ key = \"source.ip\", values = [\"198.18.0.9\"] }, "
                      "{ key = \"destination.port\", values = [\"9\"] }] }", ""));
}

TEST_CASE("dry-run policies are evaluated alone and reported, never enforced") {
  auto p = must_compile(R"(
[[workload]]
name = "w"
[[authorization]]
name = "would-deny"
action = "deny"
dry_run = true
rules = [{ to = [{ ports = [22] }] }]
[[authorization]]
name = "would-allow"
dry_run = true
rules = [{ to = [{ ports = [80] }] }]
)");
  const Workload* w = &p->workloads().all()[0];
  auto at = [&](uint16_t port) { return authorize_connection(*p, ConnectionAttrs{"", {}, w, {}, port}, Transport::Opaque); };
  AuthzDecision ssh = at(22);
  CHECK(ssh.verdict == Verdict::Allow);
  CHECK(ssh.reason == Reason::NoAllowPolicy);
  CHECK(ssh.dry_run.present);
  CHECK(ssh.dry_run.verdict == Verdict::Deny);
  CHECK(ssh.dry_run.rule.policy->id == "default/would-deny");
  CHECK(at(80).dry_run.verdict == Verdict::Allow);
  CHECK(at(443).dry_run.verdict == Verdict::Deny);  // dry-run ALLOWs exist, none matched
  CHECK(describe(*p, at(22)).find("; dry-run would deny (rule 0 of DENY authorization 'default/would-deny'") !=
        std::string::npos);
}

TEST_CASE("peer_authentication reports the destination port's mode") {
  auto p = must_compile(kPolicy);
  CHECK(peer_authentication(*p, p->workloads().by_name("vault", "vault"), 1).mode == model::MtlsMode::Strict);
  CHECK(peer_authentication(*p, p->workloads().by_name("shop", "db"), 1).mode == model::MtlsMode::Permissive);
}
