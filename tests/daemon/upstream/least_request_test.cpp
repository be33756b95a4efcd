#include "daemon/upstream/least_request.hpp"

#include <doctest/doctest.h>

#include "tests/daemon/upstream/fleet.hpp"

using namespace mesh;
using namespace mesh::upstream;

TEST_CASE("least request spreads evenly over idle equal endpoints") {
  test::Fleet f;
  for (int i = 1; i <= 4; ++i) f.add("10.0.0." + std::to_string(i) + ":80");
  LeastRequest lb(2);
  lb.rebuild(f.all());
  base::SplitMix64 random(3);
  for (auto& entry : test::histogram(lb, 20000, random)) {
    const auto& address = entry.first;  // not a structured binding: CAPTURE's lambda takes it
    CAPTURE(address);
    CHECK(entry.second == doctest::Approx(5000).epsilon(0.06));
  }
}

TEST_CASE("least request moves away from an endpoint with many active requests") {
  test::Fleet f;
  Endpoint& busy = f.add("10.0.0.1:80");
  f.add("10.0.0.2:80");
  f.add("10.0.0.3:80");
  for (int i = 0; i < 50; ++i) busy.begin_request();
  LeastRequest lb(2);
  lb.rebuild(f.all());
  base::SplitMix64 random(3);
  auto counts = test::histogram(lb, 9000, random);
  // Only a draw of the busy endpoint twice (1/9 of pairs) can choose it.
  CHECK(counts["10.0.0.1:80"] == doctest::Approx(1000).epsilon(0.15));
  CHECK(counts["10.0.0.2:80"] > 3500);
  CHECK(counts["10.0.0.3:80"] > 3500);
}

TEST_CASE("more choices avoid a busy endpoint more often") {
  struct Row {
    uint32_t choices;
    double max_busy_share;
  };
  const Row rows[] = {{1, 0.40}, {2, 0.14}, {4, 0.02}};
  for (const Row& r : rows) {
    CAPTURE(r.choices);
    test::Fleet f;
    Endpoint& busy = f.add("10.0.0.1:80");
    f.add("10.0.0.2:80");
    f.add("10.0.0.3:80");
    busy.begin_request();
    LeastRequest lb(r.choices);
    lb.rebuild(f.all());
    base::SplitMix64 random(5);
    auto counts = test::histogram(lb, 10000, random);
    CHECK(counts["10.0.0.1:80"] / 10000.0 <= r.max_busy_share);
  }
}

TEST_CASE("with weights, idle endpoints split by weight and load is compared per weight") {
  test::Fleet f;
  Endpoint& heavy = f.add("10.0.0.1:80", 3);
  Endpoint& light = f.add("10.0.0.2:80", 1);
  LeastRequest lb(2);
  lb.rebuild(f.all());
  base::SplitMix64 random(9);
  auto idle = test::histogram(lb, 20000, random);
  CHECK(idle["10.0.0.1:80"] == doctest::Approx(15000).epsilon(0.03));
  // 3 active on weight 3 equals 1 active on weight 1: still split by weight.
  for (int i = 0; i < 3; ++i) heavy.begin_request();
  light.begin_request();
  auto even = test::histogram(lb, 20000, random);
  CHECK(even["10.0.0.1:80"] == doctest::Approx(15000).epsilon(0.03));
  // 2 more on the light one: now it is the busier per weight and loses every mixed pair.
  light.begin_request();
  light.begin_request();
  auto skewed = test::histogram(lb, 20000, random);
  CHECK(skewed["10.0.0.2:80"] < 20000 * 0.1);
}
