#pragma once
// Ring owns one io_uring instance (its fd and mmaps). One Ring per worker thread; only that
// thread submits to it (IORING_SETUP_SINGLE_ISSUER where the kernel has it), after enable().
#include <liburing.h>

#include <memory>

#include "daemon/base/result.hpp"

namespace mesh::io {

struct RingOptions {
  unsigned entries = 1024;      // SQ size; the CQ is 4x to absorb multishot bursts
  bool single_issuer = true;    // IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN (6.1+)
};

class Ring {
 public:
  static base::Result<std::unique_ptr<Ring>> create(const RingOptions& options);
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  ~Ring();

  io_uring* get() { return &ring_; }
  // Must be called by the thread that submits, before its first submission. Rings are
  // created disabled so that a loop can be built on one thread and run on another.
  base::Status enable();
  unsigned setup_flags() const { return flags_; }
  unsigned features() const { return features_; }

 private:
  Ring() = default;
  io_uring ring_{};
  unsigned flags_ = 0;
  unsigned features_ = 0;
  bool enabled_ = false;
};

}  // namespace mesh::io
