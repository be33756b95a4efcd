#include "daemon/upstream/least_request.hpp"

namespace mesh::upstream {
namespace {

// a is less loaded than b per unit of weight: a.active/a.weight < b.active/b.weight.
bool less_loaded(const Endpoint& a, const Endpoint& b) {
  return uint64_t{a.active_requests()} * b.weight() < uint64_t{b.active_requests()} * a.weight();
}

}  // namespace

void LeastRequest::rebuild(std::span<Endpoint* const> endpoints) {
  endpoints_.assign(endpoints.begin(), endpoints.end());
  draw_.rebuild(endpoints);
}

Endpoint* LeastRequest::pick(const PickContext& ctx) {
  if (endpoints_.empty()) return nullptr;
  if (endpoints_.size() == 1) return endpoints_[0];
  Endpoint* best = endpoints_[draw_.draw(ctx.random)];
  for (uint32_t i = 1; i < choice_count_; ++i) {
    Endpoint* candidate = endpoints_[draw_.draw(ctx.random)];
    if (less_loaded(*candidate, *best)) best = candidate;
  }
  return best;
}

}  // namespace mesh::upstream
