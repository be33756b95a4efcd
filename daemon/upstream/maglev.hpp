#pragma once
// Maglev: Google's consistent hash table, as Envoy builds it. Each endpoint derives a
// permutation of the table's slots from its address (offset = xxhash64(address, 0) % M,
// skip = xxhash64(address, 1) % (M - 1) + 1); endpoints take turns claiming their next free
// slot, an endpoint of weight w taking a turn w times for every max-weight turn, until the
// table is full. A key goes to table[hash % M]: one lookup, even spread, and removing one of
// N endpoints moves little more than its own 1/N of keys. M (table_size) must be prime.
#include <cstdint>
#include <vector>

#include "daemon/upstream/load_balancer.hpp"

namespace mesh::upstream {

class Maglev final : public LoadBalancer {
 public:
  explicit Maglev(const MaglevConfig& config) : table_size_(config.table_size) {}
  void rebuild(std::span<Endpoint* const> endpoints) override;
  Endpoint* pick(const PickContext& ctx) override;

 private:
  uint64_t table_size_;
  std::vector<Endpoint*> endpoints_;
  std::vector<uint32_t> table_;  // index into endpoints_; empty when there are none
};

}  // namespace mesh::upstream
