#pragma once
// The client side's per-request decisions (outbound), as pure functions of the policy
// snapshot and the request — the same engine `meshctl policy explain` calls: which route
// rule takes the request and what it turns into (a backend, a 404, a redirect), and the
// load-balancing inputs the destination's traffic policy asks for (the balancer itself,
// the consistent-hash key). The endpoint pick is ClusterCache's (cluster_cache.hpp).
// Table-tested without sockets.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/base/random.hpp"
#include "daemon/base/socket_addr.hpp"
#include "daemon/upstream/lb_config.hpp"
#include "policy/engine.hpp"
#include "tunnel/http/message.hpp"

namespace mesh::proxy {

struct OutboundRoute {
  enum class Verdict : uint8_t {
    Forward,     // to one of `endpoints` of `service` on `target_port`
    NotFound,    // the host has routes and none matched: 404 (NR)
    Redirect,    // answer `redirect_code` with Location `location`
    NoEndpoint,  // nothing to send it to (no endpoints, unknown port, an external host): 503 (UH)
  };
  Verdict verdict = Verdict::Forward;
  policy::HttpRouteDecision decision;  // the route, rule, match and actions (pointers into the snapshot)
  const policy::Service* service = nullptr;
  const std::vector<uint32_t>* endpoints = nullptr;  // workload indices
  uint16_t service_port = 0;
  uint16_t target_port = 0;
  std::string cluster;                               // the per-worker cluster key
  const policy::TrafficPolicy* traffic = nullptr;    // never null for Forward
  std::string location;
  uint16_t redirect_code = 0;
};

// `dialled` is the service whose VIP the client connected to, `port` the port it dialled.
// `head.path` is already normalized.
OutboundRoute route_outbound(const policy::CompiledPolicy& policy, const policy::Service& dialled, uint16_t port,
                             const tunnel::http::RequestHead& head, const policy::Workload* source,
                             base::RandomSource& random);

// The destination's load balancer as the upstream module's plain config.
upstream::LbConfig lb_config_for(const policy::TrafficPolicy& traffic);

// The consistent-hash key of a request (xxhash64 of the header, cookie, query parameter or
// source address the policy names); none when the request lacks it (the pick is then
// random, as Envoy's) or the balancer is not consistent hashing.
std::optional<uint64_t> hash_key(const policy::TrafficPolicy& traffic, const tunnel::http::RequestHead& head,
                                 const base::IpAddr& source);

}  // namespace mesh::proxy
