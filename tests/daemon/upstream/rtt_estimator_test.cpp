#include "daemon/upstream/rtt_estimator.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace mesh;
using namespace std::chrono_literals;
using upstream::RttEstimator;

TEST_CASE("the estimate starts at the default RTT and jumps to a higher sample at once") {
  base::FakeClock clock;
  RttEstimator rtt(clock, 10s, 30ms);
  CHECK(rtt.last_estimate() == doctest::Approx(30e6));
  clock.advance(1ms);
  CHECK(rtt.update(200ms) == doctest::Approx(200e6));
}

TEST_CASE("a lower sample is blended in with weight 1 - exp(-elapsed/decay)") {
  base::FakeClock clock;
  RttEstimator rtt(clock, 10s, 100ms);
  clock.advance(10s);  // one decay period: keep e^-1 of the old estimate
  const double want = 100e6 * std::exp(-1.0) + 10e6 * (1 - std::exp(-1.0));
  CHECK(rtt.update(10ms) == doctest::Approx(want));
}

TEST_CASE("a sample arriving at the same instant does not move a higher estimate") {
  base::FakeClock clock;
  RttEstimator rtt(clock, 10s, 100ms);
  CHECK(rtt.update(1ms) == doctest::Approx(100e6));
}

TEST_CASE("reading the estimate decays it toward zero while no samples arrive") {
  base::FakeClock clock;
  RttEstimator rtt(clock, 10s, 1s);
  const double e0 = rtt.estimate();
  clock.advance(5s);
  const double e1 = rtt.estimate();
  clock.advance(50s);
  const double e2 = rtt.estimate();
  CHECK(e1 < e0);
  CHECK(e1 == doctest::Approx(1e9 * std::exp(-0.5)));
  CHECK(e2 < e1 / 100);
}
