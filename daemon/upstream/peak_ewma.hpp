#pragma once
// PeakEwma: Linkerd's balancer. A pick draws two distinct endpoints uniformly at random and
// takes the one with the lower cost = decayed peak-EWMA RTT × (active requests + 1); ties
// keep the first draw; a single endpoint is used directly. Weights are not used, as in
// Linkerd, where weights split traffic between backends above the balancer.
#include <vector>

#include "daemon/upstream/load_balancer.hpp"

namespace mesh::upstream {

class PeakEwma final : public LoadBalancer {
 public:
  void rebuild(std::span<Endpoint* const> endpoints) override;
  Endpoint* pick(const PickContext& ctx) override;

 private:
  std::vector<Endpoint*> endpoints_;
};

}  // namespace mesh::upstream
