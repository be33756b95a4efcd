#pragma once
// LeastRequest: Envoy's power of N choices over active requests. A pick draws choice_count
// candidates at random (with replacement, as Envoy does) and keeps the one with the fewest
// active requests per unit of weight; ties keep the earlier draw. With equal weights this is
// exactly Envoy's unweighted P2C. With unequal weights candidates are drawn in proportion to
// weight and compared by active/weight, so an idle cluster splits by weight and a loaded one
// moves toward the least loaded per weight. Envoy instead schedules weight/(active+1)^bias
// with EDF; see docs/load-balancing.md for why this is simpler and equivalent enough.
#include <cstdint>
#include <vector>

#include "daemon/upstream/load_balancer.hpp"
#include "daemon/upstream/weighted_draw.hpp"

namespace mesh::upstream {

class LeastRequest final : public LoadBalancer {
 public:
  explicit LeastRequest(uint32_t choice_count) : choice_count_(choice_count < 1 ? 1 : choice_count) {}
  void rebuild(std::span<Endpoint* const> endpoints) override;
  Endpoint* pick(const PickContext& ctx) override;

 private:
  uint32_t choice_count_;
  std::vector<Endpoint*> endpoints_;
  WeightedDraw draw_;
};

}  // namespace mesh::upstream
