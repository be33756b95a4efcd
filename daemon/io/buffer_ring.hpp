#pragma once
// BufferRing: a provided-buffer ring (IORING_REGISTER_PBUF_RING). Receives are submitted
// without a buffer and the kernel picks one when data arrives, so idle connections hold no
// buffer memory. The buffers live in one anonymous mapping: pages that were never used stay
// out of RSS. Owned by one loop thread; its Ring must outlive it.
#include <liburing.h>

#include <cstdint>
#include <memory>
#include <span>

#include "daemon/base/result.hpp"
#include "daemon/io/ring.hpp"

namespace mesh::io {

class BufferRing {
 public:
  // Something waiting for a buffer after a receive failed with ENOBUFS.
  class Waiter {
   public:
    virtual void on_buffer_available() = 0;

   protected:
    virtual ~Waiter() = default;
    friend class BufferRing;
    Waiter* next_waiter_ = nullptr;
    bool waiting_ = false;
  };

  // `count` must be a power of two (<= 32768); `size` is each buffer's length in bytes.
  static base::Result<std::unique_ptr<BufferRing>> create(Ring& ring, uint16_t group, uint32_t count, uint32_t size);
  BufferRing(const BufferRing&) = delete;
  BufferRing& operator=(const BufferRing&) = delete;
  ~BufferRing();

  uint16_t group() const { return group_; }
  uint32_t buffer_size() const { return size_; }
  uint32_t count() const { return count_; }
  uint32_t in_use() const { return in_use_; }

  // The buffer a completion reported (IORING_CQE_F_BUFFER: id in the upper 16 bits of flags).
  static uint16_t buffer_id(uint32_t cqe_flags) { return static_cast<uint16_t>(cqe_flags >> IORING_CQE_BUFFER_SHIFT); }
  std::span<uint8_t> take(uint16_t bid, size_t len);  // the caller now holds `bid`
  uint8_t* address(uint16_t bid) const { return data_ + static_cast<size_t>(bid) * size_; }
  void recycle(uint16_t bid);                          // hands `bid` back to the kernel

  // Registers interest in the next recycled buffer. A waiter is woken at most once per wait().
  void wait(Waiter& waiter);
  void cancel_wait(Waiter& waiter);

 private:
  BufferRing(Ring& ring, uint16_t group, uint32_t count, uint32_t size)
      : ring_(ring), group_(group), count_(count), size_(size) {}

  Ring& ring_;
  uint16_t group_;
  uint32_t count_;
  uint32_t size_;
  uint32_t in_use_ = 0;
  io_uring_buf_ring* br_ = nullptr;
  size_t br_bytes_ = 0;
  uint8_t* data_ = nullptr;
  size_t data_bytes_ = 0;
  Waiter* waiters_head_ = nullptr;
  Waiter* waiters_tail_ = nullptr;
};

}  // namespace mesh::io
