#include "daemon/datapath/listeners.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>

namespace mesh::datapath {
namespace {

base::Result<base::Fd> listen_on(int family, const sockaddr* addr, socklen_t len, std::string what) {
  base::Fd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return base::fail_errno("create " + what + " listener", errno);
  int one = 1;
  int zero = 0;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0)
    return base::fail_errno("set options on " + what + " listener", errno);
  if (family == AF_INET6 && ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) != 0)
    return base::fail_errno("make " + what + " listener dual-stack", errno);
  if (::bind(fd.get(), addr, len) != 0) return base::fail_errno("bind " + what + " listener", errno);
  if (::listen(fd.get(), kListenBacklog) != 0) return base::fail_errno("listen on " + what + " listener", errno);
  return fd;
}

base::Result<base::Fd> listen_any6(uint16_t port, std::string what) {
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_addr = in6addr_any;
  sa.sin6_port = htons(port);
  return listen_on(AF_INET6, reinterpret_cast<sockaddr*>(&sa), sizeof(sa),
                   what + " [::]:" + std::to_string(port));
}

}  // namespace

base::Result<Listeners> create_pod_listeners(const ListenerPorts& ports) {
  Listeners l;
  auto out = listen_any6(ports.outbound, "outbound");
  if (!out) return base::fail(std::move(out.error()));
  auto in = listen_any6(ports.inbound, "inbound");
  if (!in) return base::fail(std::move(in.error()));
  auto tun = listen_any6(ports.tunnel, "tunnel");
  if (!tun) return base::fail(std::move(tun.error()));
  l.outbound = std::move(*out);
  l.inbound = std::move(*in);
  l.tunnel = std::move(*tun);
  return l;
}

base::Result<base::Fd> create_loopback_listener() {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return listen_on(AF_INET, reinterpret_cast<sockaddr*>(&sa), sizeof(sa), "outbound 127.0.0.1:0");
}

base::Result<uint16_t> local_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
    return base::fail_errno("getsockname", errno);
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

}  // namespace mesh::datapath
