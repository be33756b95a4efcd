#pragma once
// Passthrough: no balancing — the connection goes to the address the client asked for
// (Istio's PASSTHROUGH, Envoy's original destination). The Cluster answers every pick with
// "use the original destination"; this balancer only finds the member endpoint at that
// address, if there is one, so the caller learns its identity and can count its requests.
// It is rebuilt with every member, healthy or not: passthrough never refuses on health.
#include <vector>

#include "daemon/upstream/load_balancer.hpp"

namespace mesh::upstream {

class Passthrough final : public LoadBalancer {
 public:
  void rebuild(std::span<Endpoint* const> endpoints) override;
  Endpoint* pick(const PickContext& ctx) override;

 private:
  std::vector<Endpoint*> endpoints_;  // sorted by address
};

}  // namespace mesh::upstream
