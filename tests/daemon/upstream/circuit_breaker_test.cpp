#include "daemon/upstream/circuit_breaker.hpp"

#include <doctest/doctest.h>

using namespace mesh::upstream;

TEST_CASE("the default limits are Envoy's") {
  CircuitBreaker cb;
  CHECK(cb.limit(Resource::Connections) == 1024);
  CHECK(cb.limit(Resource::PendingRequests) == 1024);
  CHECK(cb.limit(Resource::Requests) == 1024);
  CHECK(cb.limit(Resource::Retries) == 3);
}

TEST_CASE("a resource refuses past its limit, counts the overflow, and frees on release") {
  for (Resource r : {Resource::Connections, Resource::PendingRequests, Resource::Requests, Resource::Retries}) {
    CAPTURE(static_cast<int>(r));
    CircuitBreaker cb(CircuitBreakerLimits{2, 2, 2, 2});
    CHECK(cb.try_acquire(r));
    CHECK_FALSE(cb.open(r));
    CHECK(cb.try_acquire(r));
    CHECK(cb.open(r));
    CHECK_FALSE(cb.try_acquire(r));
    CHECK_FALSE(cb.try_acquire(r));
    CHECK(cb.overflows(r) == 2);
    CHECK(cb.in_use(r) == 2);
    cb.release(r);
    CHECK(cb.try_acquire(r));
  }
}

TEST_CASE("resources are counted independently") {
  CircuitBreaker cb(CircuitBreakerLimits{1, 1, 1, 1});
  CHECK(cb.try_acquire(Resource::Requests));
  CHECK(cb.try_acquire(Resource::Retries));
  CHECK(cb.try_acquire(Resource::Connections));
  CHECK_FALSE(cb.try_acquire(Resource::Requests));
  CHECK(cb.overflows(Resource::Connections) == 0);
  CHECK(cb.in_use(Resource::PendingRequests) == 0);
}

TEST_CASE("lowering a limit keeps the slots held and refuses new ones until below it") {
  CircuitBreaker cb;
  for (int i = 0; i < 5; ++i) CHECK(cb.try_acquire(Resource::Requests));
  cb.set_limits(CircuitBreakerLimits{1024, 1024, 3, 3});
  CHECK(cb.in_use(Resource::Requests) == 5);
  CHECK_FALSE(cb.try_acquire(Resource::Requests));
  for (int i = 0; i < 3; ++i) cb.release(Resource::Requests);
  CHECK(cb.try_acquire(Resource::Requests));
}
