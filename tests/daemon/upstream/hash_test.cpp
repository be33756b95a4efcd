#include "daemon/upstream/hash.hpp"

#include <doctest/doctest.h>

#include <string>

using mesh::upstream::xxhash64;

TEST_CASE("xxhash64 matches the reference XXH64 vectors") {
  struct Row {
    std::string input;
    uint64_t seed;
    uint64_t want;
  };
  const Row rows[] = {
      {"", 0, 0xEF46DB3751D8E999ull},
      {"abc", 0, 0x44BC2CF5AD770999ull},
      {"Nobody inspects the spammish repetition", 0, 0xFBCEA83C8A378BF1ull},  // ≥ 32 bytes
      {"xxhash", 20141025, 0xB559B98D844E0635ull},
  };
  for (const Row& r : rows) {
    CAPTURE(r.input);
    CHECK(xxhash64(r.input, r.seed) == r.want);
  }
}

TEST_CASE("xxhash64 of every length up to 100 differs from its neighbours and depends on the seed") {
  std::string s;
  uint64_t prev = xxhash64(s);
  for (int i = 0; i < 100; ++i) {
    s.push_back(static_cast<char>('a' + i % 26));
    const uint64_t h = xxhash64(s);
    CHECK(h != prev);
    CHECK(h != xxhash64(s, 1));
    prev = h;
  }
}
