#pragma once
// RandomSource: uniformly distributed 64-bit values for the data path's random choices
// (load-balancer draws, jitter). SplitMix64 is a small, fast, seedable generator; keep one
// per thread. Tests drive code with a fixed seed or with a scripted source. Not thread-safe.
#include <cstdint>

namespace mesh::base {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual uint64_t next() = 0;
};

class SplitMix64 final : public RandomSource {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() override {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

}  // namespace mesh::base
