#pragma once
// Per-thread pools of emptied byte blocks, by block size: ByteQueue's blocks and a TLS
// session's 16 KiB staging record come and go with every flow, and glibc consolidates its
// fast bins on each allocation that large. Bounded (32 blocks per size, 4 sizes per thread),
// so a burst does not pin memory forever; other sizes are simply allocated and freed.
#include <cstddef>
#include <cstdint>
#include <memory>

namespace mesh::base {

// A block of `size` bytes (uninitialised): a pooled one if this thread has one.
std::unique_ptr<uint8_t[]> take_block(size_t size);
// Returns a block that take_block(size) gave; a null one is ignored.
void give_block(std::unique_ptr<uint8_t[]> b, size_t size);

}  // namespace mesh::base
