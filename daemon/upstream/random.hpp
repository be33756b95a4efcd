#pragma once
// Random: one draw per pick, in proportion to endpoint weight (uniform when weights are
// equal). Envoy's random balancer draws uniformly over hosts; taking weights into account
// costs nothing when they are equal and respects them when discovery sets them.
#include <vector>

#include "daemon/upstream/load_balancer.hpp"
#include "daemon/upstream/weighted_draw.hpp"

namespace mesh::upstream {

class Random final : public LoadBalancer {
 public:
  void rebuild(std::span<Endpoint* const> endpoints) override;
  Endpoint* pick(const PickContext& ctx) override;

 private:
  std::vector<Endpoint*> endpoints_;
  WeightedDraw draw_;
};

}  // namespace mesh::upstream
