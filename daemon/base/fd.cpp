#include "daemon/base/fd.hpp"

#include <unistd.h>

namespace mesh::base {

void Fd::reset(int fd) {
  if (fd_ >= 0) {
    // close() on Linux releases the descriptor even when it reports EINTR; never retry.
    ::close(fd_);
  }
  fd_ = fd;
}

}  // namespace mesh::base
