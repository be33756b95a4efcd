#include "bench/l4/net.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>

namespace mesh::bench {

uint64_t now_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t cpu_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

std::vector<uint8_t> request_bytes(const Options& opts, char fill) {
  if (!opts.has("request-file")) return std::vector<uint8_t>(static_cast<size_t>(opts.num("size", 1024)), fill);
  std::string path = opts.str("request-file", "");
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (out.empty()) std::fprintf(stderr, "l4_loadgen: --request-file %s is unreadable or empty\n", path.c_str());
  return out;
}

uint64_t raise_nofile() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur < lim.rlim_max) {
    rlimit want{lim.rlim_max, lim.rlim_max};
    if (::setrlimit(RLIMIT_NOFILE, &want) == 0) return lim.rlim_max;
  }
  return lim.rlim_cur;
}

bool Options::parse(int argc, char** argv, int first) {
  for (int i = first; i < argc; i += 2) {
    std::string_view name = argv[i];
    if (name.size() < 3 || name.substr(0, 2) != "--" || i + 1 >= argc) {
      std::fprintf(stderr, "l4_loadgen: expected --name value, got '%s'\n", argv[i]);
      return false;
    }
    values_[std::string(name.substr(2))] = argv[i + 1];
  }
  return true;
}

bool Options::check_known(std::initializer_list<std::string_view> names) const {
  for (const auto& [k, v] : values_) {
    bool ok = false;
    for (auto n : names) ok = ok || n == k;
    if (!ok) {
      std::fprintf(stderr, "l4_loadgen: unknown option --%s\n", k.c_str());
      return false;
    }
  }
  return true;
}

std::string Options::str(std::string_view name, std::string_view fallback) const {
  auto it = values_.find(std::string(name));
  return it == values_.end() ? std::string(fallback) : it->second;
}

double Options::num(std::string_view name, double fallback) const {
  auto it = values_.find(std::string(name));
  if (it == values_.end()) return fallback;
  char* end = nullptr;
  double v = std::strtod(it->second.c_str(), &end);
  if (end == it->second.c_str() || *end != '\0') {
    std::fprintf(stderr, "l4_loadgen: --%s wants a number, got '%s'\n", it->first.c_str(), it->second.c_str());
    std::exit(2);
  }
  return v;
}

base::SocketAddr parse_addr_or_exit(const std::string& text) {
  auto a = base::SocketAddr::parse(text);
  if (!a) {
    std::fprintf(stderr, "l4_loadgen: bad address '%s'\n", text.c_str());
    std::exit(2);
  }
  return *a;
}

void set_nodelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

base::Fd listen_tcp(const base::SocketAddr& addr, base::SocketAddr& bound) {
  base::Fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return fd;
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_storage ss{};
  socklen_t len = addr.to_sockaddr(ss);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd.get(), 4096) != 0) return {};
  len = sizeof ss;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&ss), &len);
  if (auto b = base::SocketAddr::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len)) bound = *b;
  return fd;
}

base::Fd start_connect(const base::SocketAddr& addr) {
  base::Fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return fd;
  sockaddr_storage ss{};
  socklen_t len = addr.to_sockaddr(ss);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) return {};
  set_nodelay(fd.get());
  return fd;
}

namespace {

// Waits for `events` on fd until the absolute monotonic deadline; false on timeout.
bool wait_fd(int fd, short events, uint64_t deadline) {
  for (;;) {
    uint64_t now = now_ns();
    if (now >= deadline) return false;
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, static_cast<int>((deadline - now) / 1000000 + 1));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

}  // namespace

bool write_all(int fd, const void* data, size_t len, int timeout_ms) {
  uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_ms) * 1000000;
  const auto* p = static_cast<const uint8_t*>(data);
  while (len > 0) {
    ssize_t n = ::send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      p += n;
      len -= static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_fd(fd, POLLOUT, deadline)) return false;
    } else {
      return false;
    }
  }
  return true;
}

bool read_exact(int fd, void* data, size_t len, int timeout_ms) {
  uint64_t deadline = now_ns() + static_cast<uint64_t>(timeout_ms) * 1000000;
  auto* p = static_cast<uint8_t*>(data);
  while (len > 0) {
    ssize_t n = ::recv(fd, p, len, MSG_DONTWAIT);
    if (n > 0) {
      p += n;
      len -= static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_fd(fd, POLLIN, deadline)) return false;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace mesh::bench
