#include "tests/support/capture_net.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace mesh::testsupport {
namespace {

std::string name_of(int fd, bool peer) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len)
                : ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (rc != 0) return "?";
  auto a = base::SocketAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len);
  return a ? a->to_string() : "?";
}

}  // namespace

std::string peer_of(int fd) { return name_of(fd, true); }
std::string local_of(int fd) { return name_of(fd, false); }

base::Result<base::Fd> connect_to(const base::SocketAddr& dst, const ConnectOptions& o) {
  base::Fd fd(::socket(dst.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return base::fail_errno("socket", errno);
  if (o.mark != 0 && ::setsockopt(fd.get(), SOL_SOCKET, SO_MARK, &o.mark, sizeof(o.mark)) != 0)
    return base::fail_errno("SO_MARK", errno);
  timeval tv{o.timeout_ms / 1000, (o.timeout_ms % 1000) * 1000};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (o.source != nullptr) {
    int one = 1;
    if (o.freebind) ::setsockopt(fd.get(), SOL_IP, IP_FREEBIND, &one, sizeof(one));
    sockaddr_storage ss{};
    socklen_t len = base::SocketAddr(*o.source, 0).to_sockaddr(ss);
    if (dst.family() == AF_INET6 && o.source->is_v4()) {
      return base::fail(base::Errc::Invalid, "v4 source for a v6 destination");
    }
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return base::fail_errno("bind source", errno);
  }
  sockaddr_storage ss{};
  socklen_t len = dst.to_sockaddr(ss);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
    return base::fail_errno("connect " + dst.to_string(), errno);
  return fd;
}

void relay(int a, int b, int idle_ms) {
  bool open_a = true;  // a → b still flowing
  bool open_b = true;  // b → a still flowing
  char buf[16384];
  while (open_a || open_b) {
    pollfd p[2] = {{a, static_cast<short>(open_a ? POLLIN : 0), 0},
                   {b, static_cast<short>(open_b ? POLLIN : 0), 0}};
    int n = ::poll(p, 2, idle_ms);
    if (n <= 0) return;
    for (int i = 0; i < 2; ++i) {
      bool& open = i == 0 ? open_a : open_b;
      int from = i == 0 ? a : b;
      int to = i == 0 ? b : a;
      if (!open || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t r = ::read(from, buf, sizeof(buf));
      if (r <= 0) {
        if (r < 0 && errno != ECONNRESET) return;
        open = false;
        ::shutdown(to, SHUT_WR);
        continue;
      }
      if (!write_all(to, std::string(buf, static_cast<size_t>(r)))) return;
    }
  }
}

base::Result<std::string> read_line(int fd, int timeout_ms) {
  std::string out;
  char c;
  while (out.size() < 4096) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return base::fail(base::Errc::Timeout, "read timed out");
    ssize_t r = ::read(fd, &c, 1);
    if (r < 0) return base::fail_errno("read", errno);
    if (r == 0) return base::fail(base::Errc::Closed, "closed before a full line: '" + out + "'");
    if (c == '\n') return out;
    out += c;
  }
  return base::fail(base::Errc::Limit, "line too long");
}

bool write_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace mesh::testsupport
