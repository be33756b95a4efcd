#include "daemon/upstream/ring_hash.hpp"

#include <doctest/doctest.h>

#include "tests/daemon/upstream/hash_fixture.hpp"

using namespace mesh;
using namespace mesh::upstream;

TEST_CASE("ring hash: a key sticks to its endpoint, and removing one of N moves only its keys") {
  // From 9 endpoints on, every endpoint has 128 points whatever the membership, so exactly
  // the removed endpoint's keys move. Below that the ring grows to stay at 1024 points and
  // some survivors' keys move too (as in Envoy at every size); the bound is then 2/N.
  struct Row {
    int n;
    bool only_removed;
    double max_moved;  // share of keys
  };
  const Row rows[] = {{3, false, 2.0 / 3}, {5, false, 2.0 / 5}, {10, true, 1.5 / 10},
                      {20, true, 1.5 / 20}, {50, true, 1.5 / 50}};
  for (const Row& r : rows) {
    for (int victim : {0, r.n / 2, r.n - 1}) {
      CAPTURE(r.n);
      CAPTURE(victim);
      RingHash lb(RingHashConfig{});
      const test::Movement m = test::remove_one(lb, r.n, victim);
      CHECK(m.sticky_failures == 0);
      CHECK(m.removed_still_there == 0);
      CHECK(m.on_removed > 0);
      CHECK(m.moved >= m.on_removed);
      CHECK(m.moved <= r.max_moved * m.keys);
      if (r.only_removed) CHECK(m.moved == m.on_removed);
    }
  }
}

TEST_CASE("ring hash: keys spread over equal endpoints within 25 % of the fair share") {
  RingHash lb(RingHashConfig{});
  const auto counts = test::spread(lb, 10);
  for (int c : counts) CHECK(c == doctest::Approx(1000).epsilon(0.25));
}

TEST_CASE("ring hash: a heavier endpoint gets a proportionally larger share of keys") {
  test::Fleet f;
  f.add("10.0.0.1:8080", 3);
  f.add("10.0.0.2:8080", 1);
  RingHash lb(RingHashConfig{});
  lb.rebuild(f.all());
  base::SplitMix64 random(1);
  int heavy = 0;
  for (int k = 0; k < 10000; ++k) heavy += lb.pick(PickContext{random, test::key_hash(k)}) == f.endpoints[0];
  CHECK(heavy == doctest::Approx(7500).epsilon(0.05));
}

TEST_CASE("ring hash: without a hash key a pick is random, and with no endpoints it is none") {
  test::Fleet f;
  f.add("10.0.0.1:8080");
  f.add("10.0.0.2:8080");
  RingHash lb(RingHashConfig{});
  lb.rebuild(f.all());
  base::SplitMix64 random(1);
  auto counts = test::histogram(lb, 2000, random);
  CHECK(counts.size() == 2);
  lb.rebuild({});
  CHECK(lb.pick(PickContext{random, 42}) == nullptr);
}

TEST_CASE("ring hash: two builds from the same membership map every key the same way") {
  test::Fleet f;
  for (int i = 0; i < 7; ++i) f.add("10.1.0." + std::to_string(i + 1) + ":80");
  RingHash a(RingHashConfig{}), b(RingHashConfig{});
  a.rebuild(f.all());
  b.rebuild(f.all());
  base::SplitMix64 random(1);
  for (int k = 0; k < 1000; ++k) {
    CHECK(a.pick(PickContext{random, test::key_hash(k)}) == b.pick(PickContext{random, test::key_hash(k)}));
  }
}

TEST_CASE("ring hash: the ring is at least minimum_ring_size and at most maximum_ring_size") {
  struct Row {
    int endpoints;
    uint64_t min, max;
    size_t want;
  };
  const Row rows[] = {
      {2, 1024, 1 << 23, 1024},  // 512 points each
      {3, 1024, 1 << 23, 1026},  // ceil(1024/3) = 342 each
      {10, 1024, 1 << 23, 1280},  // 128 points per unit of weight
      {10, 1024, 500, 500},      // capped: 50 each
  };
  for (const Row& r : rows) {
    CAPTURE(r.endpoints);
    test::Fleet f;
    for (int i = 0; i < r.endpoints; ++i) f.add("10.0.0." + std::to_string(i + 1) + ":80");
    RingHash lb(RingHashConfig{r.min, r.max});
    lb.rebuild(f.all());
    CHECK(lb.ring_size() == r.want);
  }
}
