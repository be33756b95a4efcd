#include "daemon/upstream/round_robin.hpp"

#include <algorithm>
#include <unordered_map>

namespace mesh::upstream {

bool RoundRobin::later(const Entry& a, const Entry& b) {
  if (a.deadline != b.deadline) return a.deadline > b.deadline;
  return a.order > b.order;
}

void RoundRobin::rebuild(std::span<Endpoint* const> endpoints) {
  std::unordered_map<uint64_t, const Entry*> old;
  old.reserve(heap_.size());
  for (const Entry& e : heap_) old.emplace(e.id, &e);

  // Survivors keep deadline and order; a newcomer (or a changed weight) starts one period
  // after the last pick and, on a tie, after everyone already scheduled.
  std::vector<Entry> next;
  next.reserve(endpoints.size());
  for (Endpoint* ep : endpoints) {
    auto it = old.find(ep->id());
    if (it != old.end() && it->second->weight == ep->weight()) {
      Entry e = *it->second;
      e.endpoint = ep;
      next.push_back(e);
    } else {
      next.push_back(Entry{now_ + 1.0 / ep->weight(), next_order_++, ep->id(), ep->weight(), ep});
    }
  }
  heap_ = std::move(next);
  std::make_heap(heap_.begin(), heap_.end(), later);
}

Endpoint* RoundRobin::pick(const PickContext&) {
  if (heap_.empty()) return nullptr;
  // Keep deadlines small so that 1/weight steps stay exact enough in a double.
  if (now_ > kRebaseAt) {
    for (Entry& e : heap_) e.deadline -= now_;
    now_ = 0;
  }
  std::pop_heap(heap_.begin(), heap_.end(), later);
  Entry& e = heap_.back();
  Endpoint* chosen = e.endpoint;
  now_ = e.deadline;
  e.deadline += 1.0 / e.weight;
  e.order = next_order_++;
  std::push_heap(heap_.begin(), heap_.end(), later);
  return chosen;
}

}  // namespace mesh::upstream
