#include "daemon/proxy/http/cluster_cache.hpp"

namespace mesh::proxy {

namespace {

bool same_snapshot(const std::weak_ptr<const policy::CompiledPolicy>& a, const policy::PolicySnapshot& b) {
  return !a.owner_before(b) && !b.owner_before(a) && !a.expired();
}

const base::IpAddr* address_like(const policy::Workload& w, const base::IpAddr& like) {
  for (const auto& ip : w.addresses) {
    if (ip.family() == like.family()) return &ip;
  }
  return w.addresses.empty() ? nullptr : &w.addresses.front();
}

}  // namespace

upstream::Cluster& ClusterCache::get(const policy::PolicySnapshot& policy, const OutboundRoute& route,
                                     const base::IpAddr& like) {
  Entry& e = clusters_[route.cluster];
  upstream::LbConfig config = lb_config_for(*route.traffic);
  if (!e.cluster) e.cluster = std::make_unique<upstream::Cluster>(route.cluster, config, clock_);
  if (!same_snapshot(e.snapshot, policy)) {
    e.cluster->reconfigure(config);
    std::vector<upstream::EndpointSpec> specs;
    const auto all = policy->workloads().all();
    for (uint32_t i : *route.endpoints) {
      const policy::Workload& w = all[i];
      const base::IpAddr* ip = address_like(w, like);
      if (ip == nullptr) continue;
      upstream::EndpointSpec spec;
      spec.address = base::SocketAddr(*ip, route.target_port);
      spec.identity = w.identity;
      specs.push_back(std::move(spec));
    }
    e.cluster->update(std::move(specs));
    e.snapshot = policy;
  }
  return *e.cluster;
}

}  // namespace mesh::proxy
