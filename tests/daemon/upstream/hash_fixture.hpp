#pragma once
// Test support for ring hash and Maglev: how keys move when one endpoint leaves.
#include <string>
#include <vector>

#include "daemon/upstream/hash.hpp"
#include "tests/daemon/upstream/fleet.hpp"

namespace mesh::upstream::test {

struct Movement {
  int keys = 0;
  int moved = 0;               // keys whose endpoint changed
  int on_removed = 0;          // keys the removed endpoint held
  int removed_still_there = 0;  // of those, keys still mapped to it (must be 0)
  int sticky_failures = 0;     // repeated picks of one key that disagreed
};

inline uint64_t key_hash(int i) { return xxhash64("user-" + std::to_string(i)); }

// Builds `lb` over n endpoints, maps `keys` keys, removes endpoint `victim`, maps again.
inline Movement remove_one(LoadBalancer& lb, int n, int victim, int keys = 10000) {
  Fleet f;
  for (int i = 0; i < n; ++i) f.add("10.0.0." + std::to_string(i + 1) + ":8080");
  base::SplitMix64 random(1);
  lb.rebuild(f.all());
  Movement m;
  m.keys = keys;
  std::vector<Endpoint*> before(keys);
  for (int k = 0; k < keys; ++k) {
    before[k] = lb.pick(PickContext{random, key_hash(k)});
    if (lb.pick(PickContext{random, key_hash(k)}) != before[k]) ++m.sticky_failures;
  }
  std::vector<Endpoint*> rest;
  for (int i = 0; i < n; ++i) {
    if (i != victim) rest.push_back(f.endpoints[i]);
  }
  lb.rebuild(rest);
  for (int k = 0; k < keys; ++k) {
    Endpoint* after = lb.pick(PickContext{random, key_hash(k)});
    if (after != before[k]) ++m.moved;
    if (before[k] == f.endpoints[victim]) {
      ++m.on_removed;
      if (after == f.endpoints[victim]) ++m.removed_still_there;
    }
  }
  return m;
}

// Share of `keys` keys per endpoint over n equal endpoints.
inline std::vector<int> spread(LoadBalancer& lb, int n, int keys = 10000) {
  Fleet f;
  for (int i = 0; i < n; ++i) f.add("10.0.0." + std::to_string(i + 1) + ":8080");
  base::SplitMix64 random(1);
  lb.rebuild(f.all());
  std::vector<int> counts(n);
  for (int k = 0; k < keys; ++k) {
    Endpoint* e = lb.pick(PickContext{random, key_hash(k)});
    for (int i = 0; i < n; ++i) counts[i] += e == f.endpoints[i];
  }
  return counts;
}

}  // namespace mesh::upstream::test
