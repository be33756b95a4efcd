#include "daemon/upstream/maglev.hpp"

#include <doctest/doctest.h>

#include "tests/daemon/upstream/hash_fixture.hpp"

using namespace mesh;
using namespace mesh::upstream;

TEST_CASE("maglev: a key sticks to its endpoint, and removing one of N moves about 1/N of keys") {
  for (int n : {3, 5, 10, 20, 50}) {
    for (int victim : {0, n / 2, n - 1}) {
      CAPTURE(n);
      CAPTURE(victim);
      Maglev lb(MaglevConfig{});
      const test::Movement m = test::remove_one(lb, n, victim);
      CHECK(m.sticky_failures == 0);
      CHECK(m.removed_still_there == 0);
      CHECK(m.on_removed > 0);
      // Every key of the removed endpoint moves, and few others do.
      CHECK(m.moved >= m.on_removed);
      CHECK(m.moved <= 1.5 * m.keys / n);
    }
  }
}

TEST_CASE("maglev: keys spread over equal endpoints within 25 % of the fair share") {
  Maglev lb(MaglevConfig{});
  const auto counts = test::spread(lb, 10);
  for (int c : counts) CHECK(c == doctest::Approx(1000).epsilon(0.25));
}

TEST_CASE("maglev: a heavier endpoint gets a proportionally larger share of keys") {
  test::Fleet f;
  f.add("10.0.0.1:8080", 3);
  f.add("10.0.0.2:8080", 1);
  Maglev lb(MaglevConfig{});
  lb.rebuild(f.all());
  base::SplitMix64 random(1);
  int heavy = 0;
  for (int k = 0; k < 10000; ++k) heavy += lb.pick(PickContext{random, test::key_hash(k)}) == f.endpoints[0];
  CHECK(heavy == doctest::Approx(7500).epsilon(0.05));
}

TEST_CASE("maglev: without a hash key a pick is random, and with no endpoints it is none") {
  test::Fleet f;
  f.add("10.0.0.1:8080");
  f.add("10.0.0.2:8080");
  Maglev lb(MaglevConfig{});
  lb.rebuild(f.all());
  base::SplitMix64 random(1);
  auto counts = test::histogram(lb, 2000, random);
  CHECK(counts.size() == 2);
  lb.rebuild({});
  CHECK(lb.pick(PickContext{random, 42}) == nullptr);
}

TEST_CASE("maglev: two builds from the same membership map every key the same way") {
  test::Fleet f;
  for (int i = 0; i < 7; ++i) f.add("10.1.0." + std::to_string(i + 1) + ":80");
  Maglev a(MaglevConfig{}), b(MaglevConfig{});
  a.rebuild(f.all());
  b.rebuild(f.all());
  base::SplitMix64 random(1);
  for (int k = 0; k < 1000; ++k) {
    CHECK(a.pick(PickContext{random, test::key_hash(k)}) == b.pick(PickContext{random, test::key_hash(k)}));
  }
}
