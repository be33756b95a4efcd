// Compile pass for [[destination]]: one per host, Istio's defaults filled in, subsets
// resolved to the endpoints they select, subset policies merged over the host's.
#include <fmt/format.h>

#include "policy/compile_internal.hpp"

namespace mesh::policy::detail {

TrafficPolicy Compiler::traffic_policy(const model::TrafficPolicy& own, const TrafficPolicy* parent) const {
  TrafficPolicy out = parent ? *parent : default_traffic_policy();
  if (own.load_balancer) {
    out.load_balancer = *own.load_balancer;
    if (out.load_balancer.simple == model::LbPolicy::Unspecified && !out.load_balancer.consistent_hash) {
      out.load_balancer.simple = model::LbPolicy::LeastRequest;
    }
  }
  if (own.connection_pool) out.connection_pool = *own.connection_pool;
  if (own.outlier_detection) out.outlier_detection = *own.outlier_detection;
  if (own.tls) out.tls = *own.tls;
  return out;
}

void Compiler::destinations() {
  auto& table = p_.destinations_;
  StringMap<SourceLoc> seen;
  for (const model::DestinationRule& spec : src_.destinations) {
    std::string id = fmt::format("{}/{}", spec.meta.ns, spec.meta.name);
    if (!unique(seen, id, spec.meta.loc, "destination")) continue;
    HostRef ref = resolve(spec.host, spec.meta.ns, fmt::format("destination '{}'", id));
    if (!ref) continue;
    std::string host(ref.host);
    auto index = static_cast<uint32_t>(table.items().size());
    if (auto [it, inserted] = table.index().emplace(host, index); !inserted) {
      const Destination& other = table.items()[it->second];
      d_.error(spec.host.loc, fmt::format("destination '{}': host '{}' already has destination '{}' ({}); merge them",
                                          id, host, other.id, where(other.spec->meta.loc)));
      continue;
    }
    Destination d;
    d.id = id;
    d.host = host;
    d.spec = &spec;
    d.traffic_policy = traffic_policy(spec.traffic_policy, nullptr);
    for (const model::Subset& s : spec.subsets) {
      Subset out;
      out.name = s.name;
      out.labels = s.labels;
      out.traffic_policy = traffic_policy(s.traffic_policy, &d.traffic_policy);
      if (ref.service) {
        for (uint32_t w : ref.service->endpoints) {
          if (labels_match(s.labels, p_.workloads_.all()[w].labels)) out.endpoints.push_back(w);
        }
      }
      d.subsets.push_back(std::move(out));
    }
    table.items().push_back(std::move(d));
  }
}

}  // namespace mesh::policy::detail
