// Decoding of [[authorization]] and [[peer_authentication]].
#include "tests/policy/support.hpp"

using mesh::policy::test::decode;
using mesh::policy::test::decode_errors;
namespace model = mesh::policy::model;

namespace {
std::string rule(const std::string& body) {
  return "[[authorization]]\nname = \"a\"\n[[authorization.rules]]\n" + body + "\n";
}
}  // namespace

TEST_CASE("an authorization's rules keep Istio's from/to/when structure without the wrappers") {
  auto r = decode(R"(
[[authorization]]
name = "a"
namespace = "shop"
selector = { app = "cart" }
action = "deny"
dry_run = true
[[authorization.rules]]
from = [{ principals = ["cluster.local/ns/web/sa/frontend", "*/sa/admin"], not_namespaces = ["dev*"], ip_blocks = ["198.18.0.0/15"] }]
to = [{ hosts = ["Cart.Example.com"], ports = [8080, "9090"], methods = ["GET"], paths = ["/api/*"] }]
when = [{ key = "request.headers[x-token]", values = ["abc"] }, { key = "source.ip", not_values = ["198.18.9.9"] }]
)");
  REQUIRE(r.ok());
  const model::Authorization& a = r.set.authorizations.at(0);
  CHECK(a.action == model::AuthzAction::Deny);
  CHECK(a.dry_run);
  CHECK(a.selector->at("app") == "cart");
  const model::AuthzRule& rule0 = a.rules.at(0);
  CHECK(rule0.from.at(0).principals.size() == 2);
  CHECK(rule0.from.at(0).ip_blocks.at(0).prefix_len() == 15);
  CHECK(rule0.to.at(0).hosts.at(0) == "cart.example.com");
  CHECK(rule0.to.at(0).ports == std::vector<uint16_t>{8080, 9090});
  CHECK(rule0.when.size() == 2);
}

TEST_CASE("a principal written with the spiffe:// scheme gets the corrected spelling") {
  CHECK(decode_errors(rule("from = [{ principals = [\"spiffe://cluster.local/ns/a/sa/b\"] }]")) ==
        "test.toml:4:25: authorization.rules.from.principals: principals are written without the spiffe:// scheme: "
        "use 'cluster.local/ns/a/sa/b'\n");
  CHECK(decode_errors(rule("from = [{ principals = [\"cluster.local/sa/b\"] }]")) ==
        "test.toml:4:25: authorization.rules.from.principals: principal 'cluster.local/sa/b' is not of the form "
        "<trust-domain>/ns/<namespace>/sa/<service-account>\n");
}

TEST_CASE("a wildcard may stand only at the start or the end of a value") {
  CHECK(decode_errors(rule("from = [{ namespaces = [\"a*b\"] }]")) ==
        "test.toml:4:25: authorization.rules.from.namespaces: 'a*b': '*' may appear only at the start or the end of a value\n");
  CHECK(decode_errors(rule("to = [{ paths = [\"api\"] }]")) ==
        "test.toml:4:18: authorization.rules.to.paths: path 'api' must start with '/'\n");
  CHECK(decode_errors(rule("to = [{ paths = [\"/a/{*}/b\"] }]")) ==
        "test.toml:4:18: authorization.rules.to.paths: '/a/{*}/b': path templates ({*}, {**}) are not supported\n");
}

TEST_CASE("condition keys are checked, with a suggestion for near misses") {
  CHECK(decode_errors(rule("when = [{ key = \"source.ips\", values = [\"198.18.0.1\"] }]")) ==
        "test.toml:4:17: authorization.rules.when.key: unsupported condition key 'source.ips'; did you mean 'source.ip'?\n");
  CHECK(decode_errors(rule("when = [{ key = \"request.auth.claims[iss]\", values = [\"x\"] }]")) ==
        "test.toml:4:17: authorization.rules.when.key: unsupported condition key 'request.auth.claims[iss]' (JWT claims "
        "need request authentication, which meshd does not implement)\n");
  CHECK(decode_errors(rule("when = [{ key = \"destination.port\", values = [\"http\"] }]")) ==
        "test.toml:4:47: authorization.rules.when.values: 'http' is not a port number (1-65535)\n");
  CHECK(decode_errors(rule("when = [{ key = \"source.ip\" }]")) ==
        "test.toml:4:9: authorization.rules.when: needs values or not_values\n");
}

TEST_CASE("Istio features meshd does not implement are refused by name") {
  CHECK(decode_errors(rule("from = [{ request_principals = [\"*\"] }]")) ==
        "test.toml:4:32: authorization.rules.from.request_principals: not supported: request principals come from JWT "
        "authentication, which meshd does not implement\n");
  CHECK(decode_errors("[[authorization]]\nname = \"a\"\naction = \"CUSTOM\"\n") ==
        "test.toml:3:10: authorization.action: not supported: CUSTOM (external authorization) has no equivalent in meshd\n");
}

TEST_CASE("peer authentication modes and port-level overrides are decoded") {
  auto r = decode("[[peer_authentication]]\nname = \"p\"\nselector = { app = \"a\" }\nmode = \"STRICT\"\n"
                  "port_level_mtls = { 8080 = \"disable\", 9090 = \"permissive\" }\n");
  REQUIRE(r.ok());
  const auto& p = r.set.peer_authentications.at(0);
  CHECK(p.mode == model::MtlsMode::Strict);
  REQUIRE(p.port_level_mtls.size() == 2);
  CHECK(p.port_level_mtls[0] == std::pair<uint16_t, model::MtlsMode>{8080, model::MtlsMode::Disable});
  CHECK(decode_errors("[[peer_authentication]]\nname = \"p\"\nport_level_mtls = { 8080 = \"disable\" }\n") ==
        "test.toml:3:19: peer_authentication: port_level_mtls needs a selector (as in Istio)\n");
  CHECK(decode_errors("[[peer_authentication]]\nname = \"p\"\nselector = { a = \"b\" }\nport_level_mtls = { http = \"disable\" }\n") ==
        "test.toml:4:21: peer_authentication.port_level_mtls: 'http' is not a port number (1-65535)\n");
}
