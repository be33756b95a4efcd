#include "daemon/upstream/circuit_breaker.hpp"

#include "daemon/base/check.hpp"

namespace mesh::upstream {

CircuitBreaker::CircuitBreaker(const CircuitBreakerLimits& limits) { set_limits(limits); }

bool CircuitBreaker::try_acquire(Resource r) {
  Slot& s = slot(r);
  if (s.in_use >= s.limit) {
    ++s.overflows;
    return false;
  }
  ++s.in_use;
  return true;
}

void CircuitBreaker::release(Resource r) {
  Slot& s = slot(r);
  MESH_CHECK(s.in_use > 0);
  --s.in_use;
}

void CircuitBreaker::set_limits(const CircuitBreakerLimits& limits) {
  slot(Resource::Connections).limit = limits.max_connections;
  slot(Resource::PendingRequests).limit = limits.max_pending_requests;
  slot(Resource::Requests).limit = limits.max_requests;
  slot(Resource::Retries).limit = limits.max_retries;
}

}  // namespace mesh::upstream
