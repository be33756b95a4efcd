#pragma once
// CircuitBreaker: Envoy's per-cluster resource limits — connections, pending requests,
// requests and concurrent retries. The proxy acquires a slot before it opens a connection,
// queues a request, sends one or starts a retry, and releases it when that ends; a refused
// acquire is an overflow (Envoy's UO flag), counted per resource. Defaults are Envoy's:
// 1024, 1024, 1024 and 3 retries (Istio raises all four to 2^32-1). One thread; pure counters.
#include <array>
#include <cstddef>
#include <cstdint>

namespace mesh::upstream {

enum class Resource : uint8_t { Connections, PendingRequests, Requests, Retries };

struct CircuitBreakerLimits {
  uint32_t max_connections = 1024;
  uint32_t max_pending_requests = 1024;
  uint32_t max_requests = 1024;
  uint32_t max_retries = 3;
};

class CircuitBreaker {
 public:
  explicit CircuitBreaker(const CircuitBreakerLimits& limits = {});

  // Takes a slot, or counts an overflow and returns false when the limit is reached.
  [[nodiscard]] bool try_acquire(Resource r);
  void release(Resource r);

  uint32_t in_use(Resource r) const { return slot(r).in_use; }
  uint32_t limit(Resource r) const { return slot(r).limit; }
  uint64_t overflows(Resource r) const { return slot(r).overflows; }
  // Whether the next acquire would be refused (Envoy's cx_open / rq_open gauges).
  bool open(Resource r) const { return slot(r).in_use >= slot(r).limit; }

  // New limits on reload; slots already held stay held, even if above the new limit.
  void set_limits(const CircuitBreakerLimits& limits);

 private:
  struct Slot {
    uint32_t limit = 0;
    uint32_t in_use = 0;
    uint64_t overflows = 0;
  };
  Slot& slot(Resource r) { return slots_[static_cast<size_t>(r)]; }
  const Slot& slot(Resource r) const { return slots_[static_cast<size_t>(r)]; }

  std::array<Slot, 4> slots_;
};

}  // namespace mesh::upstream
