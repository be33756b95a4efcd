#include "daemon/upstream/random.hpp"

#include <doctest/doctest.h>

#include "tests/daemon/upstream/fleet.hpp"

using namespace mesh;
using namespace mesh::upstream;

TEST_CASE("random covers all endpoints roughly evenly") {
  test::Fleet f;
  for (int i = 1; i <= 10; ++i) f.add("10.0.0." + std::to_string(i) + ":80");
  Random lb;
  lb.rebuild(f.all());
  base::SplitMix64 random(11);
  auto counts = test::histogram(lb, 50000, random);
  REQUIRE(counts.size() == 10);
  for (auto& entry : counts) {
    const auto& address = entry.first;  // not a structured binding: CAPTURE's lambda takes it
    CAPTURE(address);
    CHECK(entry.second == doctest::Approx(5000).epsilon(0.06));
  }
}

TEST_CASE("random respects weights") {
  test::Fleet f;
  f.add("10.0.0.1:80", 1);
  f.add("10.0.0.2:80", 4);
  Random lb;
  lb.rebuild(f.all());
  base::SplitMix64 random(11);
  auto counts = test::histogram(lb, 50000, random);
  CHECK(counts["10.0.0.2:80"] == doctest::Approx(40000).epsilon(0.02));
}

TEST_CASE("random over no endpoints picks none") {
  Random lb;
  lb.rebuild({});
  base::SplitMix64 random(1);
  CHECK(lb.pick(PickContext{random}) == nullptr);
}
