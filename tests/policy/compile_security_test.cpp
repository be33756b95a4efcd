// Compile passes for [[authorization]] (scopes) and [[peer_authentication]] (effective modes).
#include "tests/policy/support.hpp"

using namespace mesh::policy;
using model::MtlsMode;
using test::compile_errors;
using test::must_compile;

namespace {
const std::string kInventory = R"(
[[workload]]
name = "web"
namespace = "shop"
labels = { app = "web" }
[[workload]]
name = "db"
namespace = "shop"
labels = { app = "db" }
[[workload]]
name = "web"
namespace = "blog"
labels = { app = "web" }
)";

std::vector<std::string> ids(const std::vector<const Authorization*>& list) {
  std::vector<std::string> out;
  for (const auto* a : list) out.push_back(a->id);
  return out;
}
}  // namespace

TEST_CASE("authorizations are placed in the mesh, namespace or workload scope they apply to") {
  auto p = must_compile(kInventory + R"(
[[authorization]]
name = "mesh-deny"
namespace = "istio-system"
action = "deny"
[[authorization]]
name = "root-selector"
namespace = "istio-system"
selector = { app = "web" }
[[authorization]]
name = "ns-allow"
namespace = "shop"
[[authorization]]
name = "web-audit"
namespace = "shop"
selector = { app = "web" }
action = "audit"
[[authorization]]
name = "dry"
namespace = "shop"
selector = { app = "web" }
action = "deny"
dry_run = true
)");
  const Workload& shop_web = *p->workloads().by_name("shop", "web");
  auto scopes = p->authorizations().for_workload(shop_web);
  CHECK(ids(scopes[0]->deny) == std::vector<std::string>{"istio-system/mesh-deny"});
  CHECK(ids(scopes[1]->allow) == std::vector<std::string>{"shop/ns-allow"});
  CHECK(ids(scopes[2]->allow) == std::vector<std::string>{"istio-system/root-selector"});
  CHECK(ids(scopes[2]->audit) == std::vector<std::string>{"shop/web-audit"});
  CHECK(ids(scopes[2]->dry_run) == std::vector<std::string>{"shop/dry"});
  // The root namespace's selector reaches other namespaces; shop's policies do not.
  auto blog = p->authorizations().for_workload(*p->workloads().by_name("blog", "web"));
  CHECK(ids(blog[2]->allow) == std::vector<std::string>{"istio-system/root-selector"});
  CHECK(blog[1]->empty());
  CHECK(p->authorizations().for_workload(*p->workloads().by_name("shop", "db"))[2]->empty());
}

TEST_CASE("rules that need HTTP attributes are marked as L7") {
  auto p = must_compile(R"(
[[authorization]]
name = "a"
rules = [
  { from = [{ namespaces = ["x"] }], to = [{ ports = [80] }] },
  { to = [{ methods = ["GET"] }] },
  { when = [{ key = "request.headers[X-Token]", values = ["t"] }] },
  { when = [{ key = "source.ip", values = ["198.18.0.0/16"] }] },
]
)");
  const auto& rules = p->authorizations().all()[0].rules;
  CHECK_FALSE(rules[0].l7);
  CHECK(rules[1].l7);
  CHECK(rules[2].l7);
  CHECK(rules[2].when[0].header == "x-token");
  CHECK_FALSE(rules[3].l7);
}

TEST_CASE("the narrowest peer authentication wins and unset inherits from the wider one") {
  auto p = must_compile(kInventory + R"(
[[peer_authentication]]
name = "mesh"
namespace = "istio-system"
mode = "strict"
[[peer_authentication]]
name = "blog"
namespace = "blog"
mode = "permissive"
[[peer_authentication]]
name = "web"
namespace = "shop"
selector = { app = "web" }
port_level_mtls = { 9090 = "disable" }
)");
  const auto& table = p->peer_authentications();
  const Workload* shop_web = p->workloads().by_name("shop", "web");
  CHECK(table.lookup(shop_web, 80).mode == MtlsMode::Strict);  // unset: the mesh's
  CHECK(table.lookup(shop_web, 80).source->meta.name == "mesh");
  CHECK(table.lookup(shop_web, 9090).mode == MtlsMode::Disable);
  CHECK(table.lookup(shop_web, 9090).source->meta.name == "web");
  CHECK(table.lookup(p->workloads().by_name("blog", "web"), 80).mode == MtlsMode::Permissive);
  CHECK(table.lookup(nullptr, 80).mode == MtlsMode::Strict);
}

TEST_CASE("without any peer authentication the mesh is permissive") {
  auto p = must_compile(kInventory);
  MtlsDecision d = p->peer_authentications().lookup(p->workloads().by_name("shop", "db"), 5432);
  CHECK(d.mode == MtlsMode::Permissive);
  CHECK(d.source == nullptr);
}

TEST_CASE("two peer authentications for the same scope are a conflict") {
  CHECK(compile_errors(kInventory + R"(
[[peer_authentication]]
name = "a"
namespace = "shop"
mode = "strict"
[[peer_authentication]]
name = "b"
namespace = "shop"
mode = "permissive"
[[peer_authentication]]
name = "c"
namespace = "shop"
selector = { app = "web" }
[[peer_authentication]]
name = "d"
namespace = "shop"
selector = { app = "web" }
)") == "test.toml:19:1: peer_authentication 'shop/b' conflicts with 'shop/a' (test.toml:15:1): both apply to namespace "
       "'shop'; keep one\n"
       "test.toml:27:1: peer_authentication 'shop/d' conflicts with 'shop/c' (test.toml:23:1): both apply to workload "
       "'shop/web'; keep one\n");
}
