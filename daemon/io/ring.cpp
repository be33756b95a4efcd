#include "daemon/io/ring.hpp"

#include <cerrno>
#include <cstring>

namespace mesh::io {

base::Result<std::unique_ptr<Ring>> Ring::create(const RingOptions& options) {
  std::unique_ptr<Ring> ring(new Ring());
  // Try the fastest set first and fall back flag by flag: DEFER_TASKRUN (6.1) runs
  // completion work only when this thread waits, SINGLE_ISSUER (6.0) drops submit locking,
  // COOP_TASKRUN (5.19) avoids IPIs.
  const unsigned base = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
  const unsigned candidates[] = {
      // R_DISABLED: the thread that will run the ring enables it (enable()), which makes
      // that thread the single issuer even though another thread created the ring.
      base | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED,
      base | IORING_SETUP_COOP_TASKRUN,
      base,
  };
  int err = EINVAL;
  for (unsigned flags : candidates) {
    if (!options.single_issuer && (flags & IORING_SETUP_SINGLE_ISSUER)) continue;
    io_uring_params params;
    std::memset(&params, 0, sizeof params);
    params.flags = flags;
    params.cq_entries = options.entries * 4;
    err = -io_uring_queue_init_params(options.entries, &ring->ring_, &params);
    if (err == 0) {
      ring->flags_ = flags;
      ring->features_ = params.features;
      return ring;
    }
    if (err != EINVAL) break;
  }
  return base::fail_errno("create io_uring", err);
}

Ring::~Ring() { io_uring_queue_exit(&ring_); }

base::Status Ring::enable() {
  if (!(flags_ & IORING_SETUP_R_DISABLED) || enabled_) return base::ok();
  // liburing 2.3 declares io_uring_enable_rings() but does not export it: use the raw call.
  int rc = io_uring_register(ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0);
  if (rc < 0) return base::fail_errno("enable io_uring", -rc);
  enabled_ = true;
  return base::ok();
}

}  // namespace mesh::io
