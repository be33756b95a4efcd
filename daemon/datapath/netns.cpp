#include "daemon/datapath/netns.hpp"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "daemon/base/check.hpp"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

namespace mesh::datapath {

base::Result<Netns> Netns::open(const std::string& path) {
  int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) {
    if (errno == ENOENT) return base::fail(base::Errc::NotFound, "netns '" + path + "' does not exist");
    return base::fail_errno("open netns '" + path + "'", errno);
  }
  base::Fd fd(raw);
  if (::ioctl(fd.get(), NS_GET_NSTYPE) != CLONE_NEWNET)
    return base::fail(base::Errc::Invalid, "'" + path + "' is not a network namespace");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return base::fail_errno("stat netns '" + path + "'", errno);
  return Netns(std::move(fd), st.st_ino, path);
}

base::Result<Netns> Netns::current() { return open("/proc/thread-self/ns/net"); }

uint64_t netns_inode_at(const std::string& path) {
  int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) return 0;
  base::Fd fd(raw);
  struct stat st {};
  if (::ioctl(fd.get(), NS_GET_NSTYPE) != CLONE_NEWNET || ::fstat(fd.get(), &st) != 0) return 0;
  return st.st_ino;
}

base::Result<uint64_t> Netns::cookie() const {
  auto scope = NetnsScope::enter(*this);
  if (!scope) return base::fail(std::move(scope.error()));
  base::Fd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return base::fail_errno("create socket in netns '" + path_ + "'", errno);
  uint64_t cookie = 0;
  socklen_t len = sizeof(cookie);
  if (::getsockopt(sock.get(), SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) != 0)
    return base::fail_errno("read netns cookie of '" + path_ + "'", errno);
  return cookie;
}

base::Result<NetnsScope> NetnsScope::enter(const Netns& target) {
  int raw = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (raw < 0) return base::fail_errno("open own netns", errno);
  base::Fd original(raw);
  if (::setns(target.fd(), CLONE_NEWNET) != 0)
    return base::fail_errno("enter netns '" + target.path() + "'", errno);
  return NetnsScope(std::move(original));
}

NetnsScope::NetnsScope(NetnsScope&& other) noexcept : original_(std::move(other.original_)) {}

NetnsScope::~NetnsScope() {
  if (original_) MESH_CHECK(::setns(original_.get(), CLONE_NEWNET) == 0);
}

}  // namespace mesh::datapath
