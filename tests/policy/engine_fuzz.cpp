// Fuzz target: arbitrary request attributes (identity, method, path with query, authority,
// headers) against a fixed policy that uses every kind of matcher, through authorization,
// route selection and explain.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "policy/engine.hpp"
#include "policy/explain.hpp"
#include "policy/toml/codec.hpp"

using namespace mesh::policy;

namespace {

const char* kPolicy = R"(
[[workload]]
name = "api"
addresses = ["198.18.0.1"]
labels = { app = "api", version = "v1" }
[[service]]
name = "api"
vips = ["198.19.0.1"]
selector = { app = "api" }
ports = [{ port = 80, protocol = "http" }]
[[destination]]
name = "api"
host = "api"
subsets = [{ name = "v1", labels = { version = "v1" } }]
[[route]]
name = "api"
hosts = ["api"]
[[route.http]]
match = [{ path = { regex = "/v[0-9]+/(a|b)*c" }, query = { q = { regex = "x.*y" } } },
         { headers = { x-a = { prefix = "p" } }, without_headers = { x-b = { present = true } } },
         { path = { prefix = "/CaSe" }, ignore_uri_case = true, method = { exact = "PUT" } }]
to = [{ host = "api", subset = "v1", weight = 60 }, { host = "api", weight = 40 }]
rewrite = { path = "/r/", authority = "api.internal" }
request_headers = { remove = ["x-a"], set = { x-b = "1" } }
[[route.http]]
match = [{ path = { prefix = "/old" } }]
redirect = { scheme = "https", path = "/new" }
[[route.http]]
to = [{ host = "api" }]
[[authorization]]
name = "allow"
selector = { app = "api" }
[[authorization.rules]]
from = [{ principals = ["*/sa/web", "cluster.local/ns/a/*"], not_namespaces = ["evil*"] }]
to = [{ hosts = ["*.example.com"], methods = ["GET", "P*"], paths = ["/api/*", "*.json"] }]
when = [{ key = "request.headers[x-token]", values = ["t*"], not_values = ["*bad"] }]
[[authorization]]
name = "deny"
selector = { app = "api" }
action = "deny"
rules = [{ to = [{ not_paths = ["/ok*"] }], when = [{ key = "source.ip", values = ["198.18.9.0/24"] }] }]
)";

const CompiledPolicy& policy() {
  static const PolicySnapshot p = [] {
    SourceFile f{"engine_fuzz.toml", kPolicy};
    CompileResult r = load_policy_sources(std::span<const SourceFile>(&f, 1), CompileOptions{});
    for (const auto& d : r.errors) std::fprintf(stderr, "%s\n", d.to_string().c_str());
    if (!r.ok()) __builtin_trap();
    return r.policy;
  }();
  return *p;
}

// Splits the input at '\n' into the fields of a request.
std::vector<std::string_view> fields(std::string_view s) {
  std::vector<std::string_view> out;
  while (out.size() < 16) {
    size_t nl = s.find('\n');
    out.push_back(s.substr(0, nl));
    if (nl == std::string_view::npos) break;
    s.remove_prefix(nl + 1);
  }
  out.resize(16);
  return out;
}

}  // namespace

// libFuzzer exits 77 on a crash by default, which meson reads as "skipped"; make crashes and
// timeouts fail the test instead.
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  static std::vector<char*> args;
  args.assign(*argv, *argv + *argc);
  args.push_back(const_cast<char*>("-error_exitcode=1"));
  args.push_back(const_cast<char*>("-timeout_exitcode=1"));
  args.push_back(nullptr);
  *argc = static_cast<int>(args.size() - 1);
  *argv = args.data();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const CompiledPolicy& p = policy();
  auto f = fields(std::string_view(reinterpret_cast<const char*>(data), size));
  std::vector<Header> headers;
  for (size_t i = 5; i + 1 < f.size(); i += 2) headers.push_back(Header{f[i], f[i + 1]});
  RequestAttrs req{f[1], f[2], f[3], f[4], headers};
  const Workload* api = &p.workloads().all()[0];
  mesh::base::IpAddr source = mesh::base::IpAddr::v4(size > 0 ? 0xC6120900u + data[0] : 0);
  ConnectionAttrs conn{f[0], source, api, api->addresses[0], 80};
  (void)authorize_connection(p, conn, Transport::Http);
  AuthzDecision d = authorize_request(p, conn, req);
  (void)describe(p, d);
  SplitMix64 random(size);
  HttpRouteDecision r = select_http_route(p, HttpRouteQuery{"api.default.svc.cluster.local", 80, &req}, random);
  if (r.outcome == RouteOutcome::Matched && !r.target && !r.actions->redirect) __builtin_trap();
  // The pure action helpers take the request's bytes as they come from the network.
  std::string forwarded = rewrite_path(r.actions->path_rewrite, req.path, r.match);
  if (!r.actions->path_rewrite.enabled() && forwarded != req.path) __builtin_trap();
  if (r.actions->redirect) (void)redirect_location(*r.actions->redirect, req.scheme, req.authority, req.path);
  (void)mirror_authority(req.authority);
  ExplainQuery q{std::string(f[0]), "api.default:80", std::string(f[1]), std::string(f[2]), {}};
  if (auto e = explain(p, q)) (void)to_json(p, *e);
  return 0;
}
