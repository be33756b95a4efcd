#include "daemon/upstream/ring_hash.hpp"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

#include "daemon/upstream/hash.hpp"

namespace mesh::upstream {

std::vector<uint64_t> weight_units(std::span<Endpoint* const> endpoints) {
  uint64_t g = 0;
  for (const Endpoint* e : endpoints) g = std::gcd(g, uint64_t{e->weight()});
  std::vector<uint64_t> units;
  units.reserve(endpoints.size());
  for (const Endpoint* e : endpoints) units.push_back(e->weight() / g);
  return units;
}

void RingHash::rebuild(std::span<Endpoint* const> endpoints) {
  ring_.clear();
  if (endpoints.empty()) return;
  const std::vector<uint64_t> units = weight_units(endpoints);
  const uint64_t total = std::accumulate(units.begin(), units.end(), uint64_t{0});
  uint64_t per_unit = std::max(kPointsPerUnit, (config_.minimum_ring_size + total - 1) / total);
  if (per_unit * total > config_.maximum_ring_size) {
    per_unit = std::max<uint64_t>(1, config_.maximum_ring_size / total);
  }
  ring_.reserve(per_unit * total);
  std::string key;
  for (size_t i = 0; i < endpoints.size(); ++i) {
    const std::string address = endpoints[i]->address().to_string();
    for (uint64_t n = 0; n < units[i] * per_unit; ++n) {
      key.clear();
      fmt::format_to(std::back_inserter(key), "{}_{}", address, n);
      ring_.push_back(Point{xxhash64(key), endpoints[i]});
    }
  }
  // Stable: on the (unlikely) equal hash, the lower address keeps the point on every worker.
  std::stable_sort(ring_.begin(), ring_.end(), [](const Point& a, const Point& b) { return a.hash < b.hash; });
}

Endpoint* RingHash::pick(const PickContext& ctx) {
  if (ring_.empty()) return nullptr;
  const uint64_t h = ctx.hash ? *ctx.hash : ctx.random.next();
  auto it = std::lower_bound(ring_.begin(), ring_.end(), h,
                             [](const Point& p, uint64_t v) { return p.hash < v; });
  return it == ring_.end() ? ring_.front().endpoint : it->endpoint;
}

}  // namespace mesh::upstream
