#include "daemon/base/block_pool.hpp"

#include <array>
#include <vector>

namespace mesh::base {
namespace {

struct BlockPool {
  static constexpr size_t kMaxFree = 32;
  size_t block_size = 0;  // 0: slot unused
  std::vector<std::unique_ptr<uint8_t[]>> free;
};
thread_local std::array<BlockPool, 4> t_pools;

}  // namespace

std::unique_ptr<uint8_t[]> take_block(size_t size) {
  for (BlockPool& p : t_pools) {
    if (p.block_size == size && !p.free.empty()) {
      auto b = std::move(p.free.back());
      p.free.pop_back();
      return b;
    }
  }
  return std::make_unique_for_overwrite<uint8_t[]>(size);
}

void give_block(std::unique_ptr<uint8_t[]> b, size_t size) {
  if (!b) return;
  for (BlockPool& p : t_pools) {
    if (p.block_size == 0) p.block_size = size;
    if (p.block_size != size) continue;
    if (p.free.size() < BlockPool::kMaxFree) p.free.push_back(std::move(b));
    return;
  }
}

}  // namespace mesh::base
