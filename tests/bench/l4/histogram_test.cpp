#include "bench/l4/histogram.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

using mesh::bench::LatencyHistogram;

TEST_CASE("small values have a bucket each and are exact") {
  for (uint64_t v = 0; v < LatencyHistogram::kSub; ++v) {
    CHECK(LatencyHistogram::index(v) == v);
    CHECK(LatencyHistogram::upper_edge(LatencyHistogram::index(v)) == v);
  }
}

TEST_CASE("every value lies in its bucket, within 1/128 of the bucket's upper edge") {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200000; ++i) {
    uint64_t v = rng() >> (rng() % 64);
    size_t idx = LatencyHistogram::index(v);
    REQUIRE(idx < LatencyHistogram::kBuckets);
    uint64_t hi = LatencyHistogram::upper_edge(idx);
    CHECK(v <= hi);
    if (idx > 0) CHECK(LatencyHistogram::upper_edge(idx - 1) < v);
    CHECK(static_cast<double>(hi - v) <= static_cast<double>(v) / 128.0);
  }
  CHECK(LatencyHistogram::index(UINT64_MAX) < LatencyHistogram::kBuckets);
}

TEST_CASE("quantiles match the sorted samples within the bucket precision") {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(11.0, 1.0);  // around 60 us, long tail
  std::vector<uint64_t> xs;
  LatencyHistogram h;
  for (int i = 0; i < 100000; ++i) {
    auto v = static_cast<uint64_t>(dist(rng));
    xs.push_back(v);
    h.record(v);
  }
  std::sort(xs.begin(), xs.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    auto exact = static_cast<double>(xs[static_cast<size_t>(q * static_cast<double>(xs.size())) - 1]);
    auto got = static_cast<double>(h.quantile(q));
    CHECK(got >= exact * 0.99);
    CHECK(got <= exact * 1.01);
  }
  CHECK(h.quantile(1.0) == xs.back());
  CHECK(h.max() == xs.back());
  CHECK(h.min() == xs.front());
  CHECK(h.count() == xs.size());
}

TEST_CASE("merging two histograms equals recording into one") {
  LatencyHistogram a, b, both;
  for (uint64_t v = 1; v < 100000; v += 37) {
    (v % 2 ? a : b).record(v);
    both.record(v);
  }
  a.merge(b);
  CHECK(a.count() == both.count());
  CHECK(a.max() == both.max());
  CHECK(a.min() == both.min());
  for (double q : {0.1, 0.5, 0.99}) CHECK(a.quantile(q) == both.quantile(q));
}

TEST_CASE("an empty histogram reports zeros") {
  LatencyHistogram h;
  CHECK(h.count() == 0);
  CHECK(h.quantile(0.99) == 0);
  CHECK(h.max() == 0);
  CHECK(h.min() == 0);
  CHECK(h.mean() == 0.0);
}
