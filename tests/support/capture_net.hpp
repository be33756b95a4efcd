#pragma once
// Small blocking socket helpers shared by the capture test tools (capture_testd,
// capture_client, capture_echo): address formatting, connect with a timeout, a bidirectional
// relay. Test support only: plain threads and blocking I/O, no io_uring.
#include <cstdint>
#include <string>

#include "daemon/base/fd.hpp"
#include "daemon/base/result.hpp"
#include "daemon/base/socket_addr.hpp"

namespace mesh::testsupport {

std::string peer_of(int fd);   // "ip:port" or "?"
std::string local_of(int fd);  // "ip:port" or "?"

struct ConnectOptions {
  int timeout_ms = 3000;
  uint32_t mark = 0;             // SO_MARK when non-zero
  const base::IpAddr* source = nullptr;  // bind() before connect when set
  bool freebind = false;
};

// Connects (blocking, bounded by timeout_ms); the error's errno tells refused from timeout.
base::Result<base::Fd> connect_to(const base::SocketAddr& dst, const ConnectOptions& opts);

// Copies bytes both ways until both directions reach EOF or an error; half-closes as it goes.
// Bounded by `idle_ms` of inactivity.
void relay(int a, int b, int idle_ms = 10000);

// Reads one '\n'-terminated line (without it), at most 4 KiB, bounded by timeout_ms.
base::Result<std::string> read_line(int fd, int timeout_ms);
bool write_all(int fd, const std::string& data);

}  // namespace mesh::testsupport
