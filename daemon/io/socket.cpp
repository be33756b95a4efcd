#include "daemon/io/socket.hpp"

#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "daemon/base/check.hpp"

namespace mesh::io {

using base::Fd;
using base::Result;
using base::SocketAddr;

Result<Fd> listen_tcp(const SocketAddr& addr, const ListenOptions& options) {
  Fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return base::fail_errno(fmt::format("create listener socket for {}", addr.to_string()), errno);
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (options.reuse_port && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    return base::fail_errno(fmt::format("set SO_REUSEPORT on {}", addr.to_string()), errno);
  }
  if (addr.family() == AF_INET6) {
    int v6only = options.v6_only ? 1 : 0;
    ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  }
  sockaddr_storage ss;
  socklen_t len = addr.to_sockaddr(ss);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return base::fail_errno(fmt::format("bind {}", addr.to_string()), errno);
  }
  if (::listen(fd.get(), options.backlog) != 0) {
    return base::fail_errno(fmt::format("listen on {}", addr.to_string()), errno);
  }
  return fd;
}

Result<Fd> listen_unix(const std::string& path, unsigned mode, int backlog) {
  sockaddr_un sun;
  std::memset(&sun, 0, sizeof sun);
  if (path.size() >= sizeof sun.sun_path) {
    return base::fail(base::Errc::Invalid, fmt::format("unix socket path '{}' is too long", path));
  }
  sun.sun_family = AF_UNIX;
  std::memcpy(sun.sun_path, path.data(), path.size());
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return base::fail_errno("create unix socket", errno);
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return base::fail(base::Errc::Exists, fmt::format("'{}' exists and is not a socket", path));
    }
    ::unlink(path.c_str());
  }
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sun), sizeof sun) != 0) {
    return base::fail_errno(fmt::format("bind '{}'", path), errno);
  }
  if (::chmod(path.c_str(), mode) != 0) return base::fail_errno(fmt::format("chmod '{}'", path), errno);
  if (::listen(fd.get(), backlog) != 0) return base::fail_errno(fmt::format("listen on '{}'", path), errno);
  return fd;
}

Result<Fd> tcp_socket(const SocketAddr& for_addr) {
  Fd fd(::socket(for_addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return base::fail_errno("create TCP socket", errno);
  return fd;
}

namespace {

// This thread's own netns, opened once per thread: where tcp_socket() returns after dialling
// from a workload's netns.
int home_netns() {
  thread_local Fd home(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  return home.get();
}

}  // namespace

Result<Fd> tcp_socket(const SocketAddr& for_addr, const DialOptions& options) {
  Fd fd;
  if (options.netns_fd >= 0) {
    int home = home_netns();
    if (home < 0) return base::fail_errno("open this thread's network namespace", errno);
    if (::setns(options.netns_fd, CLONE_NEWNET) != 0) return base::fail_errno("enter workload network namespace", errno);
    fd.reset(::socket(for_addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    int socket_errno = errno;
    // Not returning home would leave this worker in a pod's netns: a broken invariant.
    MESH_CHECK(::setns(home, CLONE_NEWNET) == 0);
    if (!fd) return base::fail_errno("create TCP socket in workload network namespace", socket_errno);
  } else {
    auto plain = tcp_socket(for_addr);
    if (!plain) return plain;
    fd = std::move(*plain);
  }
  if (options.mark != 0 && ::setsockopt(fd.get(), SOL_SOCKET, SO_MARK, &options.mark, sizeof options.mark) != 0) {
    return base::fail_errno("set SO_MARK", errno);
  }
  if (options.bind_source != nullptr) {
    int one = 1;
    ::setsockopt(fd.get(), SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);  // port picked at connect
    sockaddr_storage ss;
    socklen_t len = SocketAddr(*options.bind_source, 0).to_sockaddr(ss);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      return base::fail_errno(fmt::format("bind source {}", options.bind_source->to_string()), errno);
    }
  }
  return fd;
}

Result<Fd> socket_netns(int fd) {
  Fd ns(::ioctl(fd, SIOCGSKNS));
  if (!ns) return base::fail_errno("get a socket's network namespace (SIOCGSKNS)", errno);
  return ns;
}

Result<SocketAddr> local_address(int fd) {
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return base::fail_errno("getsockname", errno);
  return SocketAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

Result<SocketAddr> peer_address(int fd) {
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return base::fail_errno("getpeername", errno);
  return SocketAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void set_reset_on_close(int fd) {
  linger lg{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

}  // namespace mesh::io
