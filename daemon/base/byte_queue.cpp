#include "daemon/base/byte_queue.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include "daemon/base/check.hpp"
#include "daemon/base/block_pool.hpp"

namespace mesh::base {

ByteQueue::ByteQueue(ByteQueue&& other) noexcept
    : block_size_(other.block_size_), size_(std::exchange(other.size_, 0)), blocks_(std::move(other.blocks_)) {
  other.blocks_.clear();
}

ByteQueue& ByteQueue::operator=(ByteQueue&& other) noexcept {
  if (this != &other) {
    clear();
    block_size_ = other.block_size_;
    size_ = std::exchange(other.size_, 0);
    blocks_ = std::move(other.blocks_);
    other.blocks_.clear();
  }
  return *this;
}

ByteQueue::~ByteQueue() {
  for (Block& b : blocks_) free_block(b);
}

ByteQueue::Block ByteQueue::new_block() {
  Block b;
  b.data = take_block(block_size_);
  return b;
}

void ByteQueue::free_block(Block& b) { give_block(std::move(b.data), block_size_); }

void ByteQueue::append(std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    std::span<uint8_t> room = prepare();
    size_t n = std::min(room.size(), bytes.size());
    std::memcpy(room.data(), bytes.data(), n);
    commit(n);
    bytes = bytes.subspan(n);
  }
}

std::span<uint8_t> ByteQueue::prepare() {
  if (blocks_.empty() || blocks_.back().end == block_size_) blocks_.push_back(new_block());
  Block& tail = blocks_.back();
  return {tail.data.get() + tail.end, block_size_ - tail.end};
}

void ByteQueue::commit(size_t n) {
  MESH_CHECK(!blocks_.empty() && blocks_.back().end + n <= block_size_);
  blocks_.back().end += n;
  size_ += n;
}

std::span<const uint8_t> ByteQueue::front() const {
  for (const Block& b : blocks_) {
    if (b.end > b.begin) return {b.data.get() + b.begin, b.end - b.begin};
  }
  return {};
}

size_t ByteQueue::gather(std::span<iovec> out, size_t max_bytes) const {
  size_t used = 0;
  for (const Block& b : blocks_) {
    if (used == out.size() || max_bytes == 0) break;
    size_t len = std::min(b.end - b.begin, max_bytes);
    if (len == 0) continue;
    out[used++] = iovec{b.data.get() + b.begin, len};
    max_bytes -= len;
  }
  return used;
}

size_t ByteQueue::peek(std::span<uint8_t> out) const {
  size_t copied = 0;
  for (const Block& b : blocks_) {
    if (copied == out.size()) break;
    size_t len = std::min(b.end - b.begin, out.size() - copied);
    std::memcpy(out.data() + copied, b.data.get() + b.begin, len);
    copied += len;
  }
  return copied;
}

void ByteQueue::consume(size_t n) {
  MESH_CHECK(n <= size_);
  size_ -= n;
  while (n > 0) {
    Block& b = blocks_.front();
    size_t len = std::min(b.end - b.begin, n);
    b.begin += len;
    n -= len;
    if (b.begin == b.end) {
      free_block(b);
      blocks_.pop_front();
    }
  }
  // An empty queue holds no memory: idle connections (thousands of them, each with a TLS
  // output queue and per-stream queues) must not pin blocks.
  if (size_ == 0) {
    for (Block& b : blocks_) free_block(b);
    blocks_.clear();
  }
}

void ByteQueue::clear() { consume(size_); }

}  // namespace mesh::base
