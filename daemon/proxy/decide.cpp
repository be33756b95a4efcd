#include "daemon/proxy/decide.hpp"

#include <algorithm>
#include <random>

namespace mesh::proxy {
namespace {




// An endpoint's address in the family the client used, else its first one.
const base::IpAddr* address_for(const policy::Workload& w, const base::IpAddr& like) {
  for (const auto& ip : w.addresses) {
    if (ip.family() == like.family()) return &ip;
  }
  return w.addresses.empty() ? nullptr : &w.addresses.front();
}

FlowTarget tunnel_to(const MeshView& view, const LocalWorkload& source, const tunnel::SpiffeId& peer,
                      const base::SocketAddr& target, const CapturePorts& ports) {
  const auto* ctx = source.identity.str().empty() ? nullptr : view.contexts(source.identity);
  if (ctx == nullptr) return FlowTarget::refuse(RejectReason::NoCertificate);
  auto t = std::make_shared<OutboundTunnel>();
  t->key.source = source.identity;
  t->key.destinations = {peer};
  t->key.node = base::SocketAddr(target.ip(), ports.tunnel);
  t->tls = ctx->client;
  t->authority = target.to_string();
  return FlowTarget::through(std::move(t));
}

tunnel::http::DeclaredProtocol to_declared(policy::model::Protocol p) {
  using tunnel::http::DeclaredProtocol;
  switch (p) {
    case policy::model::Protocol::Http: return DeclaredProtocol::Http;
    case policy::model::Protocol::Http2: return DeclaredProtocol::Http2;
    case policy::model::Protocol::Grpc: return DeclaredProtocol::Grpc;
    case policy::model::Protocol::Tcp:
    case policy::model::Protocol::Tls:
    case policy::model::Protocol::Https: return DeclaredProtocol::Tcp;
    case policy::model::Protocol::Unspecified: return DeclaredProtocol::Undeclared;
  }
  return DeclaredProtocol::Undeclared;
}

// To a workload: through HBONE when it is meshed (and we have identities), else plain TCP.
FlowTarget to_workload(const MeshView& view, const LocalWorkload& source, const base::SocketAddr& target,
                        const CapturePorts& ports) {
  const MeshPeer* peer = view.peer(target.ip());
  if (peer != nullptr && peer->hbone && !view.tls.empty()) return tunnel_to(view, source, peer->identity, target, ports);
  return FlowTarget::to(target);
}

// A connection to a service VIP goes to one of its endpoints (ztunnel's L4 load balancing: a
// random pick), honouring a TCP route that sends the port to a subset or another service.
FlowTarget to_service(const MeshView& view, const policy::CompiledPolicy& p, const policy::Service& svc,
                       const LocalWorkload& source, const base::SocketAddr& dst, const CapturePorts& ports,
                       policy::RandomSource& random) {
  const policy::model::ServicePort* port = svc.port(dst.port());
  if (port == nullptr) return FlowTarget::refuse(RejectReason::NoDestination);
  const policy::Service* target_svc = &svc;
  const std::vector<uint32_t>* endpoints = &svc.endpoints;
  uint16_t service_port = dst.port();
  const policy::Workload* src = nullptr;
  for (const auto& ip : source.ips) {
    if ((src = p.workloads().by_ip(ip)) != nullptr) break;
  }
  policy::TcpRouteQuery q{svc.hostname, dst.port(), dst.ip(), src, policy::kMeshGateway};
  auto route = policy::select_tcp_route(p, q, random);
  if (route.outcome == policy::RouteOutcome::NoMatch) return FlowTarget::refuse(RejectReason::NoDestination);
  if (route.outcome == policy::RouteOutcome::Matched && route.target != nullptr) {
    if (route.target->service == nullptr) return FlowTarget::refuse(RejectReason::NoDestination);  // external: not here
    target_svc = route.target->service;
    endpoints = route.target->subset ? &route.target->subset->endpoints : &target_svc->endpoints;
    if (route.target->port != 0) service_port = route.target->port;
    port = target_svc->port(service_port);
    if (port == nullptr) return FlowTarget::refuse(RejectReason::NoDestination);
  }
  if (endpoints->empty()) return FlowTarget::refuse(RejectReason::PeerUnavailable);
  const auto& all = p.workloads().all();
  const policy::Workload& w = all[(*endpoints)[random.next() % endpoints->size()]];
  const base::IpAddr* ip = address_for(w, dst.ip());
  if (ip == nullptr) return FlowTarget::refuse(RejectReason::PeerUnavailable);
  uint16_t target_port = port->target_port != 0 ? port->target_port : port->port;
  base::SocketAddr endpoint(*ip, target_port);
  FlowTarget t = to_workload(view, source, endpoint, ports);
  // A port that may carry HTTP (declared http, or undeclared and not server-first) without a
  // TCP route: each HTTP/1.1 request is routed on its own. The connection still goes to the
  // endpoint picked above first, so a server that speaks first is not kept waiting.
  auto declared = to_declared(port->protocol);
  bool http_capable = declared == tunnel::http::DeclaredProtocol::Http ||
                      (declared == tunnel::http::DeclaredProtocol::Undeclared &&
                       !tunnel::http::is_server_first_port(dst.port(), ports.server_first));
  if (http_capable && route.outcome != policy::RouteOutcome::Matched && target_svc == &svc) {
    auto plan = std::make_shared<OutboundPlan>();
    plan->dialled = dst;
    plan->source = source;
    plan->ports = ports;
    plan->first_endpoint = endpoint;
    plan->declared = declared;
    t.http = std::move(plan);
  }
  return t;
}

policy::ConnectionAttrs attrs_for(const policy::CompiledPolicy& p, std::string_view identity,
                                  const base::SocketAddr& client, const base::SocketAddr& dst) {
  return policy::ConnectionAttrs{identity, client.ip(), p.workloads().by_ip(dst.ip()), dst.ip(), dst.port()};
}

bool denied(const policy::AuthzDecision& d) { return d.verdict == policy::Verdict::Deny; }

// Inbound connections whose bytes may be HTTP (HTTP/1, or HTTP/2 and gRPC declared) are
// inspected and authorized per request; the rest (declared tcp, server-first ports) as TCP.
void plan_inspection(const MeshView& view, FlowAttrs& attrs, const CapturePorts& ports) {
  using tunnel::http::DeclaredProtocol;
  attrs.declared = view.policy ? declared_protocol(*view.policy, attrs.destination) : DeclaredProtocol::Undeclared;
  switch (attrs.declared) {
    case DeclaredProtocol::Http:
    case DeclaredProtocol::Http2:
    case DeclaredProtocol::Grpc: attrs.per_request = true; break;
    case DeclaredProtocol::Undeclared:
      attrs.per_request = !tunnel::http::is_server_first_port(attrs.destination.port(), ports.server_first);
      break;
    case DeclaredProtocol::Tcp: attrs.per_request = false; break;
  }
}

}  // namespace

bool LocalWorkload::owns(const base::IpAddr& ip) const { return std::find(ips.begin(), ips.end(), ip) != ips.end(); }

FlowTarget decide_outbound(const MeshView& view, const LocalWorkload& source, const base::SocketAddr& dst,
                            const CapturePorts& ports, policy::RandomSource& random) {
  bool to_self = dst.ip().is_loopback() || source.owns(dst.ip());
  if (to_self && ports.own(dst.port())) return FlowTarget::refuse(RejectReason::SelfCall);
  if (view.policy) {
    if (const policy::Service* svc = view.policy->services().by_vip(dst.ip())) {
      return to_service(view, *view.policy, *svc, source, dst, ports, random);
    }
  }
  return to_workload(view, source, dst, ports);
}

FlowTarget decide_inbound_plaintext(const MeshView& view, const LocalWorkload&, const base::SocketAddr& client,
                                     const base::SocketAddr& dst, const CapturePorts& ports) {
  if (ports.own(dst.port())) return FlowTarget::refuse(RejectReason::SelfCall);
  FlowAttrs attrs{"", client, dst};
  plan_inspection(view, attrs, ports);
  if (!still_allowed(view, attrs)) {
    const auto* p = view.policy.get();
    auto mtls = policy::peer_authentication(*p, p->workloads().by_ip(dst.ip()), dst.port());
    return FlowTarget::refuse(mtls.mode == policy::model::MtlsMode::Strict ? RejectReason::Plaintext : RejectReason::Denied);
  }
  FlowTarget d = FlowTarget::to(dst);
  d.attrs = std::move(attrs);
  return d;
}

InboundDecision decide_inbound_tunnel(const MeshView& view, const LocalWorkload& dest,
                                             const tunnel::hbone::ConnectRequest& request, const tunnel::SpiffeId& peer,
                                             const base::SocketAddr& remote, const base::SocketAddr& local,
                                             const CapturePorts& ports) {
  // The target must be the workload this connection came in for (ztunnel: "ip mismatch").
  if (!request.target) return {400, {}, RejectReason::NoDestination, std::nullopt};
  const base::SocketAddr& target = *request.target;
  if (!(target.ip() == local.ip() || dest.owns(target.ip()))) return {400, {}, RejectReason::NoDestination, std::nullopt};
  if (ports.own(target.port())) return {400, {}, RejectReason::SelfCall, std::nullopt};
  FlowAttrs attrs{peer.str(), remote, target};
  plan_inspection(view, attrs, ports);
  if (!still_allowed(view, attrs)) return {401, {}, RejectReason::Denied, std::nullopt};  // as ztunnel answers
  return {200, target, RejectReason::kCount, std::move(attrs)};
}

FlowTarget decide_endpoint(const MeshView& view, const LocalWorkload& source, const base::SocketAddr& endpoint,
                           const CapturePorts& ports) {
  return to_workload(view, source, endpoint, ports);
}

bool still_allowed(const MeshView& view, const FlowAttrs& a) {
  if (!view.policy) return true;
  const policy::CompiledPolicy& p = *view.policy;
  auto attrs = attrs_for(p, a.source_identity, a.source, a.destination);
  if (a.source_identity.empty() &&
      policy::peer_authentication(p, attrs.destination, a.destination.port()).mode == policy::model::MtlsMode::Strict) {
    return false;
  }
  // An inspected connection is left to each request where HTTP attributes decide (PerRequest);
  // any other is judged with Istio's TCP semantics.
  auto transport = a.per_request ? policy::Transport::Http : policy::Transport::Opaque;
  return !denied(policy::authorize_connection(p, attrs, transport));
}

tunnel::http::DeclaredProtocol declared_protocol(const policy::CompiledPolicy& p, const base::SocketAddr& dst) {
  using tunnel::http::DeclaredProtocol;
  const policy::Workload* w = p.workloads().by_ip(dst.ip());
  if (w == nullptr) return DeclaredProtocol::Undeclared;
  const auto services = p.services().all();
  for (uint32_t si : w->services) {
    for (const auto& port : services[si].ports) {
      if ((port.target_port != 0 ? port.target_port : port.port) != dst.port()) continue;
      return to_declared(port.protocol);
    }
  }
  return DeclaredProtocol::Undeclared;
}

policy::RandomSource& thread_random() {
  thread_local policy::SplitMix64 random{std::random_device{}()};
  return random;
}

}  // namespace mesh::proxy
