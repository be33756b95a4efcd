#pragma once
// The per-connection decisions of captured traffic, as pure functions of a MeshView: where a
// workload's outbound connection goes (a meshed peer through HBONE, a service VIP to one of its
// endpoints, anything else straight through), and whether an inbound connection — plaintext
// on 15006 or a CONNECT on 15008 — is allowed (peer authentication, then authorization with
// Istio's semantics), plus the re-check of live connections after a policy change. Called on
// worker threads with that thread's current view.
#include <vector>

#include "daemon/proxy/mesh_view.hpp"
#include "daemon/proxy/listener.hpp"
#include "policy/engine.hpp"
#include "tunnel/hbone/hbone_types.hpp"

namespace mesh::proxy {

struct CapturePorts {
  uint16_t outbound = 15001;
  uint16_t inbound = 15006;
  uint16_t tunnel = 15008;
  // Undeclared ports never inspected for HTTP ([http] server_first_ports).
  std::vector<uint16_t> server_first{tunnel::http::kDefaultServerFirstPorts.begin(),
                                     tunnel::http::kDefaultServerFirstPorts.end()};
  bool own(uint16_t port) const { return port == outbound || port == inbound || port == tunnel; }
};

// The enrolled workload a listener serves.
struct LocalWorkload {
  tunnel::SpiffeId identity;  // empty when the node runs without identities
  std::vector<base::IpAddr> ips;
  bool owns(const base::IpAddr& ip) const;
};

// An outbound connection that is inspected for HTTP: what routing each request needs again
// (against the view of that moment) and where the connection was sent first.
struct OutboundPlan {
  base::SocketAddr dialled;         // the service VIP and port the client connected to
  LocalWorkload source;
  CapturePorts ports;
  base::SocketAddr first_endpoint;  // the endpoint the connection was dialled to before any request
  tunnel::http::DeclaredProtocol declared = tunnel::http::DeclaredProtocol::Undeclared;
};

FlowTarget decide_outbound(const MeshView& view, const LocalWorkload& source, const base::SocketAddr& dst,
                                   const CapturePorts& ports, policy::RandomSource& random);

FlowTarget decide_inbound_plaintext(const MeshView& view, const LocalWorkload& dest,
                                            const base::SocketAddr& client, const base::SocketAddr& dst,
                                            const CapturePorts& ports);

InboundDecision decide_inbound_tunnel(const MeshView& view, const LocalWorkload& dest,
                                             const tunnel::hbone::ConnectRequest& request, const tunnel::SpiffeId& peer,
                                             const base::SocketAddr& remote, const base::SocketAddr& local,
                                             const CapturePorts& ports);

// How to reach one endpoint of a service (an HTTP request's pick): through HBONE when it is a
// meshed workload and the source has a certificate, else plain TCP.
FlowTarget decide_endpoint(const MeshView& view, const LocalWorkload& source, const base::SocketAddr& endpoint,
                           const CapturePorts& ports);

// Whether a connection allowed earlier is still allowed by `view`'s policy (with HTTP
// semantics while attrs.per_request: a verdict that depends on each request allows it).
bool still_allowed(const MeshView& view, const FlowAttrs& attrs);

// What the service port that reaches `dst` (a workload address and target port) declares.
tunnel::http::DeclaredProtocol declared_protocol(const policy::CompiledPolicy& policy, const base::SocketAddr& dst);

// One generator per thread for weighted and endpoint picks.
policy::RandomSource& thread_random();

}  // namespace mesh::proxy
