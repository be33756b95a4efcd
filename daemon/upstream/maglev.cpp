#include "daemon/upstream/maglev.hpp"

#include <algorithm>
#include <limits>

#include "daemon/upstream/hash.hpp"
#include "daemon/upstream/ring_hash.hpp"

namespace mesh::upstream {
namespace {

constexpr uint32_t kFree = std::numeric_limits<uint32_t>::max();

struct Builder {
  uint64_t offset;
  uint64_t skip;
  uint64_t units;
  uint64_t target = 0;  // the weighted turn this endpoint waits for
  uint64_t next = 0;    // position in its permutation
};

}  // namespace

void Maglev::rebuild(std::span<Endpoint* const> endpoints) {
  endpoints_.assign(endpoints.begin(), endpoints.end());
  table_.clear();
  if (endpoints.empty()) return;
  const uint64_t m = table_size_;
  const std::vector<uint64_t> units = weight_units(endpoints);
  const uint64_t max_units = *std::max_element(units.begin(), units.end());
  std::vector<Builder> builders;
  builders.reserve(endpoints.size());
  for (size_t i = 0; i < endpoints.size(); ++i) {
    const std::string address = endpoints[i]->address().to_string();
    builders.push_back(Builder{xxhash64(address, 0) % m, xxhash64(address, 1) % (m - 1) + 1, units[i]});
  }
  table_.assign(m, kFree);
  uint64_t filled = 0;
  for (uint64_t turn = 1; filled < m; ++turn) {
    for (size_t i = 0; i < builders.size() && filled < m; ++i) {
      Builder& b = builders[i];
      // An endpoint with max weight takes every turn, one with a third of it every third.
      if (turn * b.units < b.target) continue;
      b.target += max_units;
      uint64_t slot = (b.offset + b.skip * b.next) % m;
      while (table_[slot] != kFree) {
        ++b.next;
        slot = (b.offset + b.skip * b.next) % m;
      }
      table_[slot] = static_cast<uint32_t>(i);
      ++b.next;
      ++filled;
    }
  }
}

Endpoint* Maglev::pick(const PickContext& ctx) {
  if (table_.empty()) return nullptr;
  const uint64_t h = ctx.hash ? *ctx.hash : ctx.random.next();
  return endpoints_[table_[h % table_size_]];
}

}  // namespace mesh::upstream
