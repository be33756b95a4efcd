#pragma once
// LatencyHistogram: an HDR-style log-linear histogram of durations in nanoseconds. Values
// below 2^kSubBits ns have a bucket each; above, every power of two is split into 2^kSubBits
// linear sub-buckets, so a recorded value is off by at most 1/2^kSubBits (0.78 %) of itself.
// Fixed memory (about 58 KiB), O(1) record, no allocation after construction. Not
// thread-safe: one per thread, merge() at the end.
#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace mesh::bench {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr uint64_t kSub = uint64_t{1} << kSubBits;
  static constexpr size_t kBuckets = kSub + (64 - kSubBits) * kSub;

  void record(uint64_t ns) {
    ++counts_[index(ns)];
    ++total_;
    max_ = std::max(max_, ns);
    min_ = std::min(min_, ns);
    sum_ += ns;
  }

  void merge(const LatencyHistogram& other) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    max_ = std::max(max_, other.max_);
    min_ = std::min(min_, other.min_);
    sum_ += other.sum_;
  }

  uint64_t count() const { return total_; }
  uint64_t max() const { return total_ ? max_ : 0; }
  uint64_t min() const { return total_ ? min_ : 0; }
  double mean() const { return total_ ? static_cast<double>(sum_) / static_cast<double>(total_) : 0.0; }

  // The smallest recorded-bucket value v such that at least q (0..1) of the samples are
  // <= v, reported as the bucket's upper edge (clamped to the true maximum).
  uint64_t quantile(double q) const {
    if (total_ == 0) return 0;
    q = std::clamp(q, 0.0, 1.0);
    auto rank = static_cast<uint64_t>(q * static_cast<double>(total_) + 0.5);
    rank = std::clamp<uint64_t>(rank, 1, total_);
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(upper_edge(i), max_);
    }
    return max_;
  }

  static size_t index(uint64_t v) {
    if (v < kSub) return static_cast<size_t>(v);
    int e = 63 - std::countl_zero(v);  // e >= kSubBits
    int shift = e - kSubBits;
    uint64_t sub = (v >> shift) - kSub;  // in [0, kSub)
    return static_cast<size_t>(kSub + static_cast<uint64_t>(shift) * kSub + sub);
  }

  // The largest value that maps to bucket i.
  static uint64_t upper_edge(size_t i) {
    if (i < kSub) return i;
    uint64_t shift = (i - kSub) / kSub;
    uint64_t sub = (i - kSub) % kSub;
    uint64_t low = (kSub + sub) << shift;
    return low + ((uint64_t{1} << shift) - 1);
  }

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t sum_ = 0;
};

}  // namespace mesh::bench
