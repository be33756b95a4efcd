#include "daemon/io/probe.hpp"

#include <liburing.h>
#include <sys/utsname.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "daemon/io/buffer_ring.hpp"
#include "daemon/io/ring.hpp"

namespace mesh::io {
namespace {

struct RequiredOp {
  int op;
  const char* name;
};

constexpr RequiredOp kRequiredOps[] = {
    {IORING_OP_ACCEPT, "accept"},   {IORING_OP_CONNECT, "connect"},
    {IORING_OP_RECV, "recv"},       {IORING_OP_SEND, "send"},
    {IORING_OP_CLOSE, "close"},     {IORING_OP_ASYNC_CANCEL, "async_cancel"},
    {IORING_OP_TIMEOUT, "timeout"}, {IORING_OP_READ, "read"},
    {IORING_OP_SHUTDOWN, "shutdown"}, {IORING_OP_POLL_ADD, "poll_add"},
};

std::string kernel_release() {
  utsname u;
  if (uname(&u) != 0) return "unknown";
  return u.release;
}

base::Status check_ops(Ring& ring) {
  std::unique_ptr<io_uring_probe, void (*)(io_uring_probe*)> probe(
      io_uring_get_probe_ring(ring.get()), io_uring_free_probe);
  if (!probe) return base::fail(base::Errc::Unsupported, "io_uring cannot report its supported operations (kernel older than 5.6)");
  for (const auto& op : kRequiredOps) {
    if (!io_uring_opcode_supported(probe.get(), op.op)) {
      return base::fail(base::Errc::Unsupported, fmt::format("io_uring lacks the '{}' operation", op.name));
    }
  }
  return base::ok();
}

}  // namespace

base::Result<ProbeReport> probe_io_uring() {
  ProbeReport report{kernel_release(), {}};
  auto ring = Ring::create(RingOptions{.entries = 8, .single_issuer = true});
  if (!ring) {
    int err = ring.error().sys_errno();
    std::string why;
    if (err == ENOSYS) why = "the kernel has no io_uring (CONFIG_IO_URING off) or a seccomp filter blocks io_uring_setup";
    else if (err == EPERM) why = "io_uring is disabled (sysctl kernel.io_uring_disabled) or blocked by the container runtime's seccomp profile";
    else why = fmt::format("io_uring_setup failed: {}", std::strerror(err));
    return base::fail(base::Errc::Unsupported,
                      fmt::format("io_uring is unavailable on kernel {}: {}; meshd needs io_uring on Linux 6.0 or newer",
                                  report.kernel, why),
                      err);
  }
  if (auto enabled = (*ring)->enable(); !enabled) {
    return base::fail(base::Errc::Unsupported, fmt::format("io_uring on kernel {} cannot be enabled: {}", report.kernel, enabled.error().message()));
  }
  if (!((*ring)->features() & IORING_FEAT_EXT_ARG) || !((*ring)->features() & IORING_FEAT_NODROP) ||
      !((*ring)->features() & IORING_FEAT_FAST_POLL)) {
    return base::fail(base::Errc::Unsupported,
                      fmt::format("io_uring on kernel {} is too old (needs EXT_ARG, NODROP, FAST_POLL); meshd needs Linux 6.0 or newer", report.kernel));
  }
  if (auto ops = check_ops(**ring); !ops) {
    return base::fail(ops.error().wrap(fmt::format("io_uring on kernel {} is too old; meshd needs Linux 6.0 or newer", report.kernel)));
  }
  // Provided buffer rings (5.19) are what keep idle connections free of buffers.
  auto buffers = BufferRing::create(**ring, 0, 8, 4096);
  if (!buffers) {
    return base::fail(base::Errc::Unsupported,
                      fmt::format("io_uring on kernel {} has no provided buffer rings; meshd needs Linux 6.0 or newer", report.kernel));
  }
  if (!((*ring)->setup_flags() & IORING_SETUP_DEFER_TASKRUN)) {
    report.notes.push_back("IORING_SETUP_DEFER_TASKRUN unavailable (kernel < 6.1): completion work runs eagerly");
  }
  return report;
}

}  // namespace mesh::io
