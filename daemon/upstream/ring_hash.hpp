#pragma once
// RingHash: Envoy's ketama-style consistent hash. Every endpoint puts points on a 64-bit ring
// at xxhash64("<address>_<i>"), as many as its share of the weight asks for; a key goes to
// the first point at or after its hash, wrapping around. Removing one of N endpoints moves
// only the keys it owned (about 1/N) because the other endpoints' points do not depend on
// the membership: each gets `kPointsPerUnit` points per unit of weight (weights divided by
// their gcd), more when the ring would be smaller than minimum_ring_size, fewer only when it
// would exceed maximum_ring_size. Envoy instead sizes the ring to exactly the minimum, so a
// membership change there also reshuffles about 1/N of the surviving endpoints' keys.
#include <cstdint>
#include <vector>

#include "daemon/upstream/load_balancer.hpp"

namespace mesh::upstream {

class RingHash final : public LoadBalancer {
 public:
  static constexpr uint64_t kPointsPerUnit = 128;

  explicit RingHash(const RingHashConfig& config) : config_(config) {}
  void rebuild(std::span<Endpoint* const> endpoints) override;
  Endpoint* pick(const PickContext& ctx) override;

  size_t ring_size() const { return ring_.size(); }

 private:
  struct Point {
    uint64_t hash;
    Endpoint* endpoint;
  };

  RingHashConfig config_;
  std::vector<Point> ring_;  // sorted by hash
};

// Weights divided by their greatest common divisor: {2, 4} → {1, 2}. Shared with Maglev.
std::vector<uint64_t> weight_units(std::span<Endpoint* const> endpoints);

}  // namespace mesh::upstream
