#pragma once
// Socket set-up helpers: the few synchronous syscalls around io_uring's data path (socket,
// bind, listen, setsockopt, getsockname). Thread-safe (they act only on their arguments).
#include <string>

#include "daemon/base/fd.hpp"
#include "daemon/base/result.hpp"
#include "daemon/base/socket_addr.hpp"

namespace mesh::io {

struct ListenOptions {
  bool reuse_port = true;  // one listener per worker; the kernel spreads connections
  int backlog = 4096;
  bool v6_only = false;    // for [::]: also accept IPv4 unless set
};

base::Result<base::Fd> listen_tcp(const base::SocketAddr& addr, const ListenOptions& options = {});
// A unix stream listener at `path` (an old socket file there is replaced) with file `mode`.
base::Result<base::Fd> listen_unix(const std::string& path, unsigned mode, int backlog = 64);
// A non-blocking, close-on-exec TCP socket of the address's family, not yet connected.
base::Result<base::Fd> tcp_socket(const base::SocketAddr& for_addr);

// How the daemon dials for a workload: inside the workload's network namespace (setns on
// the calling thread around socket(), then back), with SO_MARK so capture skips it, and
// optionally bound to a source address (127.0.0.6 for the hop to a local application).
struct DialOptions {
  int netns_fd = -1;                        // -1: the calling thread's netns
  uint32_t mark = 0;                        // 0: no mark
  const base::IpAddr* bind_source = nullptr;
};
base::Result<base::Fd> tcp_socket(const base::SocketAddr& for_addr, const DialOptions& options);
// The network namespace a socket lives in (ioctl SIOCGSKNS), as an fd usable with setns.
base::Result<base::Fd> socket_netns(int fd);

base::Result<base::SocketAddr> local_address(int fd);
base::Result<base::SocketAddr> peer_address(int fd);

void set_nodelay(int fd);
// SO_LINGER {on, 0}: the next close() sends RST instead of FIN (to propagate a reset).
void set_reset_on_close(int fd);

}  // namespace mesh::io
