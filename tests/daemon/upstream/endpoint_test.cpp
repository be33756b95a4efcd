#include "daemon/upstream/endpoint.hpp"

#include <doctest/doctest.h>

#include "tests/daemon/upstream/fleet.hpp"

using namespace mesh::upstream;
using namespace std::chrono_literals;
using test::Fleet;

TEST_CASE("an endpoint counts its active requests") {
  Fleet f;
  Endpoint& e = f.add("10.0.0.1:80");
  CHECK(e.active_requests() == 0);
  e.begin_request();
  e.begin_request();
  CHECK(e.active_requests() == 2);
  e.end_request();
  CHECK(e.active_requests() == 1);
}

TEST_CASE("a weight of 0 is taken as 1") {
  Fleet f;
  CHECK(f.add("10.0.0.1:80", 0).weight() == 1);
  CHECK(f.add("10.0.0.2:80", 7).weight() == 7);
}

TEST_CASE("record_result feeds the RTT estimate and counts the outcome") {
  Fleet f;
  Endpoint& e = f.add("10.0.0.1:80");
  f.clock.advance(1s);
  e.record_result(500ms, true);
  CHECK(e.rtt().last_estimate() == doctest::Approx(500e6));
  e.record_result(1ms, false);
  CHECK(e.successes() == 1);
  CHECK(e.failures() == 1);
}

TEST_CASE("a failure counts as at least the configured penalty") {
  Fleet f;
  f.ewma.failure_penalty = 5s;
  Endpoint& e = f.add("10.0.0.1:80");
  f.clock.advance(1s);
  e.record_result(2ms, false);
  CHECK(e.rtt().last_estimate() == doctest::Approx(5e9));
}

TEST_CASE("peak EWMA cost is the estimate times active requests plus one") {
  Fleet f;
  Endpoint& e = f.add("10.0.0.1:80");  // default RTT 30 ms, no time passes
  CHECK(e.peak_ewma_cost() == doctest::Approx(30e6));
  e.begin_request();
  e.begin_request();
  CHECK(e.peak_ewma_cost() == doctest::Approx(90e6));
}

TEST_CASE("health states have their config spelling") {
  CHECK(to_string(HealthState::Healthy) == "healthy");
  CHECK(to_string(HealthState::Unhealthy) == "unhealthy");
  CHECK(to_string(HealthState::Draining) == "draining");
  test::Fleet f;
  CHECK(f.add("10.0.0.1:80").health() == HealthState::Healthy);
}
