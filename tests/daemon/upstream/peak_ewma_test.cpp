#include "daemon/upstream/peak_ewma.hpp"

#include <doctest/doctest.h>

#include "tests/daemon/upstream/fleet.hpp"

using namespace mesh;
using namespace mesh::upstream;
using namespace std::chrono_literals;

TEST_CASE("peak EWMA moves away from a slow endpoint") {
  test::Fleet f;
  Endpoint& slow = f.add("10.0.0.1:80");
  Endpoint& fast1 = f.add("10.0.0.2:80");
  Endpoint& fast2 = f.add("10.0.0.3:80");
  PeakEwma lb;
  lb.rebuild(f.all());
  base::SplitMix64 random(5);
  for (int i = 0; i < 20; ++i) {
    f.clock.advance(100ms);
    slow.record_result(400ms, true);
    fast1.record_result(5ms, true);
    fast2.record_result(5ms, true);
  }
  auto counts = test::histogram(lb, 3000, random);
  // Two distinct draws: the slow one loses every pair it is in.
  CHECK(counts["10.0.0.1:80"] == 0);
  CHECK(counts["10.0.0.2:80"] == doctest::Approx(1500).epsilon(0.1));
}

TEST_CASE("peak EWMA weighs active requests: a fast but busy endpoint loses to an idle one") {
  test::Fleet f;
  Endpoint& a = f.add("10.0.0.1:80");
  Endpoint& b = f.add("10.0.0.2:80");
  f.clock.advance(1s);
  a.record_result(10ms, true);
  b.record_result(30ms, true);
  PeakEwma lb;
  lb.rebuild(f.all());
  base::SplitMix64 random(5);
  CHECK(lb.pick(PickContext{random}) == &a);  // 10 ms × 1 < 30 ms × 1
  for (int i = 0; i < 3; ++i) a.begin_request();
  CHECK(lb.pick(PickContext{random}) == &b);  // 10 ms × 4 > 30 ms × 1
}

TEST_CASE("a slow endpoint is tried again once its estimate has decayed") {
  test::Fleet f;
  Endpoint& slow = f.add("10.0.0.1:80");
  Endpoint& busy = f.add("10.0.0.2:80");
  f.clock.advance(1s);
  slow.record_result(2s, true);
  busy.record_result(30ms, true);
  for (int i = 0; i < 3; ++i) busy.begin_request();  // cost 120 ms
  PeakEwma lb;
  lb.rebuild(f.all());
  base::SplitMix64 random(5);
  CHECK(lb.pick(PickContext{random}) == &busy);
  // A minute later the busy one has fresh 30 ms samples; the idle slow one's 2 s estimate
  // has decayed to 2 s × e^-6 ≈ 5 ms and wins against 30 ms × 4.
  f.clock.advance(60s);
  busy.record_result(30ms, true);
  CHECK(lb.pick(PickContext{random}) == &slow);
}

TEST_CASE("peak EWMA with one endpoint uses it and with none picks none") {
  test::Fleet f;
  Endpoint& only = f.add("10.0.0.1:80");
  PeakEwma lb;
  base::SplitMix64 random(5);
  lb.rebuild(f.all());
  CHECK(lb.pick(PickContext{random}) == &only);
  lb.rebuild({});
  CHECK(lb.pick(PickContext{random}) == nullptr);
}
