#include "daemon/upstream/weighted_draw.hpp"

#include <doctest/doctest.h>

#include "tests/daemon/upstream/fleet.hpp"

using namespace mesh;
using namespace mesh::upstream;

TEST_CASE("equal weights draw uniformly, unequal ones in proportion") {
  struct Row {
    std::vector<uint32_t> weights;
  };
  const Row rows[] = {{{1, 1, 1, 1}}, {{1, 3}}, {{5, 1, 2, 2}}, {{100, 100}}};
  for (const Row& r : rows) {
    test::Fleet f;
    uint64_t total = 0;
    for (size_t i = 0; i < r.weights.size(); ++i) {
      f.add("10.0.0." + std::to_string(i + 1) + ":80", r.weights[i]);
      total += r.weights[i];
    }
    WeightedDraw draw;
    draw.rebuild(f.all());
    CHECK(draw.uniform() == (r.weights == std::vector<uint32_t>(r.weights.size(), r.weights[0])));
    base::SplitMix64 random(42);
    std::vector<int> counts(r.weights.size());
    const int n = 40000;
    for (int i = 0; i < n; ++i) counts[draw.draw(random)]++;
    for (size_t i = 0; i < r.weights.size(); ++i) {
      const double want = double(n) * r.weights[i] / double(total);
      CHECK(counts[i] == doctest::Approx(want).epsilon(0.05));
    }
  }
}
