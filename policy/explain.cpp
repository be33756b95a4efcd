#include "policy/explain.hpp"

#include <charconv>

#include <fmt/format.h>

#include "daemon/base/strings.hpp"

namespace mesh::policy {
namespace {

using base::Errc;
using base::fail;

// "ns/name", or a bare name that exactly one workload has.
base::Result<const Workload*> find_workload(const CompiledPolicy& policy, std::string_view ref) {
  if (size_t slash = ref.find('/'); slash != std::string_view::npos) {
    if (const Workload* w = policy.workloads().by_name(ref.substr(0, slash), ref.substr(slash + 1))) return w;
    std::vector<std::string_view> ids;
    for (const auto& w : policy.workloads().all()) ids.push_back(w.id);
    std::string msg = fmt::format("unknown workload '{}'", ref);
    if (ids.size() <= 5000) {
      if (auto near = base::closest_match(ref, ids)) msg += fmt::format("; did you mean '{}'?", *near);
    }
    return fail(Errc::NotFound, std::move(msg));
  }
  const Workload* found = nullptr;
  for (const auto& w : policy.workloads().all()) {
    if (w.name != ref) continue;
    if (found) return fail(Errc::Invalid, fmt::format("'{}' names workloads in several namespaces ({} and {}); write "
                                                      "namespace/name", ref, found->id, w.id));
    found = &w;
  }
  return found;  // may be null
}

base::Status resolve_source(const CompiledPolicy& policy, const std::string& from, Explanation& e) {
  if (from.starts_with("spiffe://")) {
    e.source_identity = from;
    return base::ok();
  }
  const Workload* w = nullptr;
  if (auto ip = base::IpAddr::parse(from)) {
    e.source_ip = *ip;
    w = policy.workloads().by_ip(*ip);
    if (!w) return base::ok();  // an address outside the mesh: plaintext, no identity
  } else {
    auto found = find_workload(policy, from);
    if (!found) return fail(std::move(found.error()));
    if (!*found) return fail(Errc::NotFound, fmt::format("--from '{}' is not a SPIFFE ID, IP address or workload", from));
    w = *found;
    if (!w->addresses.empty()) e.source_ip = w->addresses.front();
  }
  e.source = w;
  // A workload outside the mesh (protocol "tcp") connects in plaintext.
  if (w->protocol == model::WorkloadProtocol::Hbone) e.source_identity = w->identity;
  return base::ok();
}

base::Status parse_to(const std::string& to, std::string& host, uint16_t& port) {
  size_t colon = to.rfind(':');
  if (colon == std::string::npos || (to.find(':') != colon && to.front() != '[')) {
    return fail(Errc::Invalid, fmt::format("--to '{}' must be <host>:<port> ([<ipv6>]:<port> for IPv6)", to));
  }
  host = to.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(to.data() + colon + 1, to.data() + to.size(), value);
  if (ec != std::errc() || ptr != to.data() + to.size() || value == 0 || value > 65535) {
    return fail(Errc::Invalid, fmt::format("--to '{}': invalid port", to));
  }
  port = static_cast<uint16_t>(value);
  return base::ok();
}

std::string_view source_namespace(const Explanation& e) {
  if (e.source) return e.source->ns;
  std::string_view id = e.source_identity;
  size_t at = id.find("/ns/");
  if (at == std::string_view::npos) return "default";
  std::string_view rest = id.substr(at + 4);
  return rest.substr(0, rest.find('/'));
}

base::Status resolve_destination(const CompiledPolicy& policy, const std::string& host, Explanation& e) {
  if (auto ip = base::IpAddr::parse(host)) {
    e.workload = policy.workloads().by_ip(*ip);
    if (!e.workload) e.service = policy.services().by_vip(*ip);
    if (!e.workload && !e.service) e.external = policy.externals().by_ip(*ip);
    if (!e.workload && !e.service && !e.external) {
      return fail(Errc::NotFound, fmt::format("{} is not the address of a workload, service or external service", host));
    }
  } else if (host.find('/') != std::string::npos) {
    auto w = find_workload(policy, host);
    if (!w) return fail(std::move(w.error()));
    e.workload = *w;
  } else if (HostRef ref = policy.resolve_host(host, source_namespace(e))) {
    e.service = ref.service;
    e.external = ref.external;
    e.host = std::string(ref.host);
  } else {
    auto w = find_workload(policy, host);
    if (!w) return fail(std::move(w.error()));
    if (!*w) {
      std::string msg = fmt::format("unknown destination host '{}'", host);
      if (host.find('.') == std::string::npos) {
        // Short names resolve in the source's namespace, as a client's DNS search path would.
        msg += fmt::format(" in namespace '{}'", source_namespace(e));
        for (const auto& s : policy.services().all()) {
          if (s.name == host) return fail(Errc::NotFound, msg + fmt::format("; did you mean '{}.{}'?", s.name, s.ns));
        }
      }
      std::vector<std::string_view> known;
      for (const auto& s : policy.services().all()) known.push_back(s.hostname);
      if (known.size() <= 5000) {
        if (auto near = base::closest_match(host, known)) msg += fmt::format("; did you mean '{}'?", *near);
      }
      return fail(Errc::NotFound, std::move(msg));
    }
    e.workload = *w;
  }
  if (e.workload) e.host = e.workload->id;
  if (e.service && e.host.empty()) e.host = e.service->hostname;
  if (e.external && e.host.empty()) e.host = e.external->spec->hosts.front().value;
  const model::ServicePort* p = e.service ? e.service->port(e.port) : e.external ? e.external->port(e.port) : nullptr;
  if (p) e.protocol = p->protocol;
  return base::ok();
}

// A request entering through a gateway: the host is matched against the gateway's routes.
base::Status resolve_gateway(const CompiledPolicy& policy, const std::string& id, const std::string& host,
                             Explanation& e) {
  size_t slash = id.find('/');
  e.gateway = slash == std::string::npos ? policy.gateways().by_name("default", id)
                                         : policy.gateways().by_name(id.substr(0, slash), id.substr(slash + 1));
  if (!e.gateway) return fail(Errc::NotFound, fmt::format("--gateway: unknown gateway '{}'", id));
  // Behind the gateway the backends see the gateway's workload as the peer, not the client.
  e.client = e.source ? e.source->id : !e.source_identity.empty() ? e.source_identity : e.source_ip.to_string();
  e.source = nullptr;
  e.source_identity.clear();
  e.source_ip = {};
  if (!e.gateway->workloads.empty()) {
    const Workload& gw = policy.workloads().all()[e.gateway->workloads.front()];
    e.source = &gw;
    if (gw.protocol == model::WorkloadProtocol::Hbone) e.source_identity = gw.identity;
    if (!gw.addresses.empty()) e.source_ip = gw.addresses.front();
  }
  e.host = host;
  for (char& c : e.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& server : e.gateway->spec->servers) {
    if (server.port != e.port) continue;
    for (const auto& h : server.hosts) {
      std::string_view pattern = std::string_view(h.value).substr(h.value.find('/') + 1);
      if (pattern == "*" || pattern == e.host || (pattern.starts_with("*.") && e.host.ends_with(pattern.substr(1)))) {
        e.server = &server;
        e.protocol = server.protocol;
        return base::ok();
      }
    }
  }
  return fail(Errc::NotFound, fmt::format("--to: gateway '{}' serves no host '{}' on port {}", e.gateway->id, host, e.port));
}

ExplainedTarget target_of(const RouteTarget& t, uint16_t dialled_port) {
  ExplainedTarget out;
  out.host = t.host;
  out.subset = t.subset;
  out.port = t.port;
  out.weight = t.weight;
  out.cluster = cluster_key(t, dialled_port);
  return out;
}

// Routes a service or external destination; fills outcome, rule and targets.
void route(const CompiledPolicy& policy, const RequestAttrs& req, Explanation& e) {
  SplitMix64 random(0);  // the pick is ignored: every target of the rule is listed
  const std::string_view gateway = e.gateway ? std::string_view(e.gateway->id) : kMeshGateway;
  if (e.http) {
    HttpRouteQuery q{e.host, e.port, &req, e.source, gateway};
    HttpRouteDecision d = select_http_route(policy, q, random);
    e.outcome = d.outcome;
    e.route = d.route;
    e.http_rule = d.rule;
    e.http_match = d.match;
    if (d.rule)
      for (const auto& t : d.rule->targets) e.targets.push_back(target_of(t, e.port));
    e.forwarded_path = rewrite_path(d.actions->path_rewrite, req.path, d.match);
    if (d.actions->redirect) e.location = redirect_location(*d.actions->redirect, req.scheme, req.authority, req.path);
  } else {
    TcpRouteQuery q{e.host, e.port, {}, e.source, gateway};
    if (e.service && !e.service->vips.empty()) q.destination_ip = e.service->vips.front();
    TcpRouteDecision d = select_tcp_route(policy, q, random);
    e.outcome = d.outcome;
    e.route = d.route;
    e.tcp_rule = d.rule;
    if (d.rule)
      for (const auto& t : d.rule->targets) e.targets.push_back(target_of(t, e.port));
  }
  if (e.outcome == RouteOutcome::Default && e.gateway) {
    e.outcome = RouteOutcome::NoMatch;  // a gateway forwards only what its routes bind: 404
  } else if (e.outcome == RouteOutcome::Default) {
    ExplainedTarget t;
    t.host = e.host;
    t.cluster = cluster_key(e.host, "", e.port);
    e.targets.push_back(std::move(t));
  }
}

void authorize(const CompiledPolicy& policy, const RequestAttrs& req, Explanation& e, ExplainedTarget& t) {
  uint16_t port = t.port ? t.port : e.port;
  std::vector<uint32_t> endpoints;
  const Service* svc = nullptr;
  if (e.workload) {
    endpoints.push_back(e.workload->index);
  } else {
    HostRef ref = policy.resolve_host(t.host, "default");
    svc = ref.service;
    t.mesh = svc != nullptr;
    if (svc) endpoints = t.subset ? t.subset->endpoints : svc->endpoints;
  }
  // Authorization sees the workload's port: a service port maps to its target port.
  const model::ServicePort* sp = svc ? svc->port(port) : nullptr;
  uint16_t workload_port = sp && sp->target_port ? sp->target_port : port;
  model::Protocol protocol = sp ? sp->protocol : e.protocol;
  Transport transport = model::is_http(protocol) ? Transport::Http : Transport::Opaque;
  t.endpoints_total = endpoints.size();
  for (uint32_t index : endpoints) {
    const Workload& w = policy.workloads().all()[index];
    ConnectionAttrs conn{e.source_identity, e.source_ip, &w, w.addresses.empty() ? base::IpAddr{} : w.addresses.front(),
                         workload_port};
    AuthzDecision d = e.http ? authorize_request(policy, conn, req) : authorize_connection(policy, conn, transport);
    if (d.verdict == Verdict::Allow) ++t.endpoints_allowed;
    if (t.endpoints.size() < Explanation::kMaxEndpoints) t.endpoints.push_back(ExplainedEndpoint{&w, workload_port, d});
  }
}

std::string summarize(const Explanation& e) {
  if (e.server && e.server->tls && e.server->tls->https_redirect) return "redirect";
  if (e.outcome == RouteOutcome::NoMatch) return "no route";
  if (e.http_rule && e.http_rule->actions.redirect) return "redirect";
  size_t total = 0, allowed = 0, denied = 0, mesh_targets = 0;
  for (const auto& t : e.targets) {
    if (t.weight == 0 || !t.mesh) continue;
    ++mesh_targets;
    total += t.endpoints_total;
    allowed += t.endpoints_allowed;
    for (const auto& ep : t.endpoints) denied += ep.decision.verdict == Verdict::Deny;
  }
  if (mesh_targets == 0) return "allow";  // external: no workload-side authorization
  if (total == 0) return "no endpoints";
  if (allowed == total) return "allow";
  if (denied == total) return "deny";
  if (allowed == 0 && denied == 0) return "per-request";
  return "partial";
}

}  // namespace

base::Result<Explanation> explain(const CompiledPolicy& policy, const ExplainQuery& query) {
  Explanation e;
  if (auto s = resolve_source(policy, query.from, e); !s) return fail(std::move(s.error()).wrap("--from"));
  std::string host;
  if (auto s = parse_to(query.to, host, e.port); !s) return fail(std::move(s.error()));
  if (!query.gateway.empty()) {
    if (auto s = resolve_gateway(policy, query.gateway, host, e); !s) return fail(std::move(s.error()));
  } else if (auto s = resolve_destination(policy, host, e); !s) {
    return fail(std::move(s.error()).wrap("--to"));
  }
  e.http = !query.method.empty() || !query.path.empty() || !query.headers.empty();
  e.method = query.method.empty() ? "GET" : query.method;
  e.path = query.path.empty() ? "/" : query.path;
  e.headers = query.headers;
  std::vector<Header> headers;
  for (const auto& [k, v] : e.headers) headers.push_back(Header{k, v});
  std::string authority = fmt::format("{}:{}", host, e.port);
  RequestAttrs req{e.method, e.path, authority, "http", headers};
  if (e.workload) {
    ExplainedTarget t;
    t.host = e.workload->id;
    e.targets.push_back(std::move(t));
  } else {
    route(policy, req, e);
  }
  for (auto& t : e.targets) authorize(policy, req, e, t);
  e.decision = summarize(e);
  return e;
}

}  // namespace mesh::policy
