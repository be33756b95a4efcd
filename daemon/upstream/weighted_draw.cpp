#include "daemon/upstream/weighted_draw.hpp"

#include <algorithm>

#include "daemon/base/check.hpp"

namespace mesh::upstream {

void WeightedDraw::rebuild(std::span<Endpoint* const> endpoints) {
  size_ = endpoints.size();
  cumulative_.clear();
  const bool equal = std::all_of(endpoints.begin(), endpoints.end(),
                                 [&](const Endpoint* e) { return e->weight() == endpoints[0]->weight(); });
  if (equal) return;
  uint64_t sum = 0;
  cumulative_.reserve(endpoints.size());
  for (const Endpoint* e : endpoints) {
    sum += e->weight();
    cumulative_.push_back(sum);
  }
}

size_t WeightedDraw::draw(base::RandomSource& random) const {
  MESH_CHECK(size_ > 0);
  if (cumulative_.empty()) return random.next() % size_;
  // The first prefix sum above r: weight w owns w of the total's values.
  const uint64_t r = random.next() % cumulative_.back();
  return static_cast<size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), r) - cumulative_.begin());
}

}  // namespace mesh::upstream
