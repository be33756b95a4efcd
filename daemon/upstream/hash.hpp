#pragma once
// xxhash64: the 64-bit hash behind consistent hashing — endpoint points on the ring, Maglev
// permutations, and the keys the proxy derives from a header, cookie or source address.
// The algorithm is XXH64 (the one Envoy uses), written here because libxxhash-dev is not
// among the build's packages; tests pin it to the reference vectors. Pure, thread-safe.
#include <cstdint>
#include <string_view>

namespace mesh::upstream {

uint64_t xxhash64(std::string_view data, uint64_t seed = 0);

}  // namespace mesh::upstream
