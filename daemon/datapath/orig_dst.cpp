#include "daemon/datapath/orig_dst.hpp"

#include <arpa/inet.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace mesh::datapath {
namespace {

constexpr int kIp6tSoOriginalDst = 80;  // linux/netfilter_ipv6/ip6_tables.h

base::Result<base::SocketAddr> sock_name(int fd, bool peer) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                : ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (rc != 0) return base::fail_errno(peer ? "getpeername" : "getsockname", errno);
  return base::SocketAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

}  // namespace

mesh_tuple_key tuple_key(uint64_t netns_cookie, const base::SocketAddr& peer) {
  mesh_tuple_key key{};
  key.netns_cookie = netns_cookie;
  key.port = peer.port();
  if (peer.ip().is_v4()) {
    key.family = MESH_AF_INET;
    std::memcpy(key.ip, peer.ip().bytes().data(), 4);
  } else {
    key.family = MESH_AF_INET6;
    std::memcpy(key.ip, peer.ip().bytes().data(), 16);
  }
  return key;
}

base::SocketAddr to_socket_addr(const mesh_orig& orig) {
  if (orig.family == MESH_AF_INET) {
    uint32_t net;
    std::memcpy(&net, orig.ip, 4);
    return base::SocketAddr(base::IpAddr::v4(ntohl(net)), orig.port);
  }
  std::array<uint8_t, 16> b;
  std::memcpy(b.data(), orig.ip, 16);
  return base::SocketAddr(base::IpAddr::v6(b), orig.port);
}

base::Result<base::SocketAddr> so_original_dst(int fd) {
  auto local = sock_name(fd, false);
  if (!local) return base::fail(std::move(local.error()));
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  int rc = local->ip().is_v4()
               ? ::getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &ss, &len)
               : ::getsockopt(fd, SOL_IPV6, kIp6tSoOriginalDst, &ss, &len);
  if (rc != 0) {
    if (errno == ENOENT) return base::fail(base::Errc::NotFound, "no original destination in conntrack");
    return base::fail_errno("getsockopt SO_ORIGINAL_DST", errno);
  }
  return base::SocketAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
}

base::Result<base::SocketAddr> OrigDstResolver::outbound(uint64_t netns_cookie, int fd) const {
  if (mode_ == CaptureMode::Ebpf) {
    auto peer = sock_name(fd, true);
    if (!peer) return base::fail(std::move(peer.error()));
    mesh_tuple_key key = tuple_key(netns_cookie, *peer);
    auto found = tuples_.lookup(key);
    if (!found) return base::fail(std::move(found.error()));
    if (*found) {
      (void)tuples_.erase(key);  // one connection, one lookup; LRU would evict it anyway
      return to_socket_addr(**found);
    }
  }
  auto nat = so_original_dst(fd);
  if (nat) return nat;
  if (nat.error().code() == base::Errc::NotFound || mode_ == CaptureMode::Ebpf)
    return base::fail(base::Errc::NotFound, "no original destination: not a captured connection");
  return base::fail(std::move(nat.error()));
}

base::Result<base::SocketAddr> OrigDstResolver::inbound(int fd) const {
  if (mode_ == CaptureMode::Ebpf) return sock_name(fd, false);
  auto nat = so_original_dst(fd);
  if (!nat && nat.error().code() == base::Errc::NotFound)
    return base::fail(base::Errc::NotFound, "no original destination: not a captured connection");
  return nat;
}

}  // namespace mesh::datapath
