#pragma once
// ClusterCache: one worker's upstream::Cluster per cluster key ("outbound|port|subset|host"),
// so balancer state (round-robin position, active requests, latency estimates) survives policy
// reloads while membership follows them: a cluster's endpoints are refreshed from the policy
// the first time it is used under a new snapshot. Endpoints are the workloads a route target
// selects, at the service port's target port, in the family the client used. Clusters are
// kept for the worker's lifetime (a few hundred bytes each, bounded by the keys policies
// have named). Single-threaded: its worker.
#include <memory>
#include <string>
#include <unordered_map>

#include "daemon/base/clock.hpp"
#include "daemon/proxy/http/outbound_route.hpp"
#include "daemon/upstream/cluster.hpp"
#include "policy/compiled.hpp"

namespace mesh::proxy {

class ClusterCache {
 public:
  explicit ClusterCache(const base::Clock& clock) : clock_(clock) {}

  // The cluster `route` (a Forward verdict) sends to, under `policy`.
  upstream::Cluster& get(const policy::PolicySnapshot& policy, const OutboundRoute& route, const base::IpAddr& like);
  size_t size() const { return clusters_.size(); }

 private:
  struct Entry {
    std::unique_ptr<upstream::Cluster> cluster;
    std::weak_ptr<const policy::CompiledPolicy> snapshot;  // membership taken from it
  };
  const base::Clock& clock_;
  std::unordered_map<std::string, Entry> clusters_;
};

}  // namespace mesh::proxy
