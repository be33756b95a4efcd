#include "daemon/upstream/passthrough.hpp"

#include <algorithm>

namespace mesh::upstream {

void Passthrough::rebuild(std::span<Endpoint* const> endpoints) {
  endpoints_.assign(endpoints.begin(), endpoints.end());
}

Endpoint* Passthrough::pick(const PickContext& ctx) {
  if (!ctx.original_destination) return nullptr;
  const base::SocketAddr& want = *ctx.original_destination;
  auto it = std::lower_bound(endpoints_.begin(), endpoints_.end(), want,
                             [](const Endpoint* e, const base::SocketAddr& a) { return e->address() < a; });
  return it != endpoints_.end() && (*it)->address() == want ? *it : nullptr;
}

}  // namespace mesh::upstream
