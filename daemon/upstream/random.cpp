#include "daemon/upstream/random.hpp"

namespace mesh::upstream {

void Random::rebuild(std::span<Endpoint* const> endpoints) {
  endpoints_.assign(endpoints.begin(), endpoints.end());
  draw_.rebuild(endpoints);
}

Endpoint* Random::pick(const PickContext& ctx) {
  if (endpoints_.empty()) return nullptr;
  return endpoints_[draw_.draw(ctx.random)];
}

}  // namespace mesh::upstream
