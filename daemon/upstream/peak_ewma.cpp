#include "daemon/upstream/peak_ewma.hpp"

namespace mesh::upstream {

void PeakEwma::rebuild(std::span<Endpoint* const> endpoints) {
  endpoints_.assign(endpoints.begin(), endpoints.end());
}

Endpoint* PeakEwma::pick(const PickContext& ctx) {
  const size_t n = endpoints_.size();
  if (n == 0) return nullptr;
  if (n == 1) return endpoints_[0];
  // Two distinct indices: the second is drawn from the n-1 others.
  const size_t a = ctx.random.next() % n;
  size_t b = ctx.random.next() % (n - 1);
  if (b >= a) ++b;
  Endpoint* first = endpoints_[a];
  Endpoint* second = endpoints_[b];
  return first->peak_ewma_cost() <= second->peak_ewma_cost() ? first : second;
}

}  // namespace mesh::upstream
