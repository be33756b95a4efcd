#pragma once
// Counter and Gauge: per-thread statistics on the data path. Each instance has exactly one
// writing thread (its worker), which updates it with plain relaxed loads and stores (no
// locked instruction); any thread may read it, e.g. the metrics scrape, which sums the
// per-worker instances. Aggregation lives with whoever owns the set of instances.
#include <atomic>
#include <cstdint>

namespace mesh::base {

class Counter {
 public:
  void inc(uint64_t n = 1) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void add(int64_t n) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void set(int64_t n) { v_.store(n, std::memory_order_relaxed); }
  int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

}  // namespace mesh::base
