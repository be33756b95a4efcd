#pragma once
// WeightedDraw: draws an index with probability proportional to its weight (prefix sums and
// a binary search; a modulo when all weights are equal). Shared by the random and least
// request balancers. Built once per rebuild, read per pick.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "daemon/base/random.hpp"
#include "daemon/upstream/endpoint.hpp"

namespace mesh::upstream {

class WeightedDraw {
 public:
  void rebuild(std::span<Endpoint* const> endpoints);
  // Requires size() > 0.
  size_t draw(base::RandomSource& random) const;
  size_t size() const { return size_; }
  bool uniform() const { return cumulative_.empty(); }

 private:
  size_t size_ = 0;
  std::vector<uint64_t> cumulative_;  // empty when every weight is equal
};

}  // namespace mesh::upstream
