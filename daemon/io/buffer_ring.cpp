#include "daemon/io/buffer_ring.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "daemon/base/check.hpp"

namespace mesh::io {

base::Result<std::unique_ptr<BufferRing>> BufferRing::create(Ring& ring, uint16_t group, uint32_t count, uint32_t size) {
  if (count == 0 || count > 32768 || (count & (count - 1)) != 0) {
    return base::fail(base::Errc::Invalid, "buffer ring size must be a power of two up to 32768");
  }
  std::unique_ptr<BufferRing> br(new BufferRing(ring, group, count, size));
  br->br_bytes_ = count * sizeof(io_uring_buf);
  void* mem = mmap(nullptr, br->br_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) return base::fail_errno("map buffer ring", errno);
  br->br_ = static_cast<io_uring_buf_ring*>(mem);
  br->data_bytes_ = static_cast<size_t>(count) * size;
  mem = mmap(nullptr, br->data_bytes_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE | MAP_NORESERVE, -1, 0);
  if (mem == MAP_FAILED) return base::fail_errno("map receive buffers", errno);
  br->data_ = static_cast<uint8_t*>(mem);

  io_uring_buf_reg reg;
  std::memset(&reg, 0, sizeof reg);
  reg.ring_addr = reinterpret_cast<uintptr_t>(br->br_);
  reg.ring_entries = count;
  reg.bgid = group;
  int rc = io_uring_register_buf_ring(ring.get(), &reg, 0);
  if (rc != 0) {
    munmap(br->data_, br->data_bytes_);
    br->data_ = nullptr;
    return base::fail_errno("register provided buffer ring", -rc);
  }
  io_uring_buf_ring_init(br->br_);
  int mask = io_uring_buf_ring_mask(count);
  for (uint32_t i = 0; i < count; ++i) {
    io_uring_buf_ring_add(br->br_, br->data_ + static_cast<size_t>(i) * size, size, static_cast<uint16_t>(i), mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(br->br_, static_cast<int>(count));
  return br;
}

BufferRing::~BufferRing() {
  if (data_ != nullptr) {
    io_uring_unregister_buf_ring(ring_.get(), group_);
    munmap(data_, data_bytes_);
  }
  if (br_ != nullptr) munmap(br_, br_bytes_);
}

std::span<uint8_t> BufferRing::take(uint16_t bid, size_t len) {
  MESH_CHECK(bid < count_ && len <= size_);
  ++in_use_;
  return {data_ + static_cast<size_t>(bid) * size_, len};
}

void BufferRing::recycle(uint16_t bid) {
  MESH_CHECK(bid < count_ && in_use_ > 0);
  --in_use_;
  io_uring_buf_ring_add(br_, data_ + static_cast<size_t>(bid) * size_, size_, bid, io_uring_buf_ring_mask(count_), 0);
  io_uring_buf_ring_advance(br_, 1);
  if (Waiter* w = waiters_head_) {
    waiters_head_ = w->next_waiter_;
    if (waiters_head_ == nullptr) waiters_tail_ = nullptr;
    w->next_waiter_ = nullptr;
    w->waiting_ = false;
    w->on_buffer_available();
  }
}

void BufferRing::wait(Waiter& waiter) {
  if (waiter.waiting_) return;
  waiter.waiting_ = true;
  waiter.next_waiter_ = nullptr;
  if (waiters_tail_ != nullptr) waiters_tail_->next_waiter_ = &waiter;
  else waiters_head_ = &waiter;
  waiters_tail_ = &waiter;
}

void BufferRing::cancel_wait(Waiter& waiter) {
  if (!waiter.waiting_) return;
  Waiter* prev = nullptr;
  for (Waiter* w = waiters_head_; w != nullptr; prev = w, w = w->next_waiter_) {
    if (w != &waiter) continue;
    if (prev != nullptr) prev->next_waiter_ = w->next_waiter_;
    else waiters_head_ = w->next_waiter_;
    if (waiters_tail_ == w) waiters_tail_ = prev;
    break;
  }
  waiter.waiting_ = false;
  waiter.next_waiter_ = nullptr;
}

}  // namespace mesh::io
