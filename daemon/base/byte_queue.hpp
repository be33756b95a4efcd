#pragma once
// ByteQueue: a FIFO of bytes kept in fixed-size blocks. Bytes already queued never move, so
// a caller may hand their addresses to the kernel (an io_uring send still in flight) while
// more bytes are appended; consume() releases them once the send has completed. Used for
// TLS ciphertext output and for HTTP/2 per-stream send and receive buffers (tunnel/tls and
// tunnel/http both use it, hence base). Owned by one connection; not thread-safe.
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>

namespace mesh::base {

class ByteQueue {
 public:
  static constexpr size_t kDefaultBlockSize = 64 * 1024;

  explicit ByteQueue(size_t block_size = kDefaultBlockSize) : block_size_(block_size) {}
  ByteQueue(ByteQueue&& other) noexcept;
  ByteQueue& operator=(ByteQueue&& other) noexcept;
  ByteQueue(const ByteQueue&) = delete;
  ByteQueue& operator=(const ByteQueue&) = delete;
  ~ByteQueue();

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Bytes of memory held by this queue's blocks, for memory accounting.
  size_t allocated() const { return blocks_.size() * block_size_; }

  void append(std::span<const uint8_t> bytes);
  // Writable space at the tail, at least one byte, up to the end of the tail block. Write
  // into it, then commit() what was written. Lets a producer write in place (no copy).
  std::span<uint8_t> prepare();
  void commit(size_t n);

  // The first contiguous run of queued bytes (empty when the queue is empty).
  std::span<const uint8_t> front() const;
  // Fills `out` with iovecs for up to `max_bytes` queued bytes from the front; returns how
  // many iovecs were used. For writev/sendmsg.
  size_t gather(std::span<iovec> out, size_t max_bytes = SIZE_MAX) const;
  // Copies up to out.size() bytes from the front without consuming them; returns the count.
  size_t peek(std::span<uint8_t> out) const;
  // Drops n bytes (n <= size()) from the front, freeing emptied blocks.
  void consume(size_t n);
  void clear();

 private:
  struct Block {
    std::unique_ptr<uint8_t[]> data;
    size_t begin = 0;
    size_t end = 0;
  };
  Block new_block();
  void free_block(Block& b);

  size_t block_size_;
  size_t size_ = 0;
  std::deque<Block> blocks_;
};

}  // namespace mesh::base
