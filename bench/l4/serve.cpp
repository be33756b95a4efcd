// serve: the benchmark backend. Level-triggered epoll, one loop per --threads, all sharing
// one listening socket (EPOLLEXCLUSIVE). Each connection counts request bytes and owes
// --response-size bytes for every complete --size request; it stops reading while it owes
// more than kMaxOwed so a client that never reads cannot grow it without bound. Runs until
// SIGTERM/SIGINT or --max-seconds.
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <thread>
#include <vector>

#include "bench/l4/modes.hpp"

namespace mesh::bench {
namespace {

constexpr uint64_t kMaxOwed = 4u << 20;
constexpr size_t kIoSize = 64 * 1024;

struct Conn {
  uint64_t partial = 0;  // bytes of the current incomplete request
  uint64_t owed = 0;     // response bytes not yet written
  uint32_t events = EPOLLIN;  // what epoll watches for
};

struct ServeConfig {
  uint64_t request_size;
  uint64_t response_size;
  uint64_t deadline_ns;
};

class ServeLoop {
 public:
  ServeLoop(const ServeConfig& cfg, int listen_fd, std::vector<Conn>& conns)
      : cfg_(cfg), listen_fd_(listen_fd), conns_(conns), ep_(::epoll_create1(EPOLL_CLOEXEC)) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.fd = listen_fd_;
    ::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, listen_fd_, &ev);
  }

  void run() {
    std::vector<epoll_event> events(256);
    while (!stop_requested() && now_ns() < cfg_.deadline_ns) {
      int n = ::epoll_wait(ep_.get(), events.data(), static_cast<int>(events.size()), 100);
      for (int i = 0; i < n; ++i) {
        int fd = events[static_cast<size_t>(i)].data.fd;
        if (fd == listen_fd_) accept_all();
        else on_ready(fd, events[static_cast<size_t>(i)].events);
      }
    }
    for (size_t fd = 0; fd < conns_.size(); ++fd) {
      if (mine_.size() > fd && mine_[fd]) ::close(static_cast<int>(fd));
    }
  }

 private:
  void accept_all() {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or out of fds (the client sees a reset or a timeout)
      if (static_cast<size_t>(fd) >= conns_.size()) {
        ::close(fd);
        continue;
      }
      set_nodelay(fd);
      conns_[static_cast<size_t>(fd)] = Conn{};
      if (mine_.size() <= static_cast<size_t>(fd)) mine_.resize(static_cast<size_t>(fd) + 1, false);
      mine_[static_cast<size_t>(fd)] = true;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = fd;
      ::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev);
    }
  }

  void drop(int fd) {
    ::epoll_ctl(ep_.get(), EPOLL_CTL_DEL, fd, nullptr);
    mine_[static_cast<size_t>(fd)] = false;
    ::close(fd);
  }

  void on_ready(int fd, uint32_t events) {
    Conn& c = conns_[static_cast<size_t>(fd)];
    if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c.owed <= kMaxOwed && !read_some(fd, c)) return drop(fd);
    if (!write_some(fd, c)) return drop(fd);
    // While owing a lot, stop reading: back-pressure on the client.
    uint32_t want = c.owed == 0 ? EPOLLIN : (c.owed > kMaxOwed ? EPOLLOUT : EPOLLIN | EPOLLOUT);
    if (want != c.events) {
      c.events = want;
      epoll_event ev{};
      ev.events = want;
      ev.data.fd = fd;
      ::epoll_ctl(ep_.get(), EPOLL_CTL_MOD, fd, &ev);
    }
  }

  // False when the connection is finished (EOF or error).
  bool read_some(int fd, Conn& c) {
    for (;;) {
      ssize_t n = ::recv(fd, buf_.data(), buf_.size(), 0);
      if (n == 0) return false;
      if (n < 0) return errno == EAGAIN || errno == EINTR;
      c.partial += static_cast<uint64_t>(n);
      c.owed += c.partial / cfg_.request_size * cfg_.response_size;
      c.partial %= cfg_.request_size;
      if (static_cast<size_t>(n) < buf_.size() || c.owed > kMaxOwed) return true;
    }
  }

  bool write_some(int fd, Conn& c) {
    while (c.owed > 0) {
      size_t len = c.owed < buf_.size() ? static_cast<size_t>(c.owed) : buf_.size();
      ssize_t n = ::send(fd, buf_.data(), len, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) return errno == EAGAIN || errno == EINTR;
      c.owed -= static_cast<uint64_t>(n);
    }
    return true;
  }

  const ServeConfig& cfg_;
  int listen_fd_;
  std::vector<Conn>& conns_;
  std::vector<bool> mine_;
  base::Fd ep_;
  std::vector<uint8_t> buf_ = std::vector<uint8_t>(kIoSize, 'r');
};

}  // namespace

int run_serve(const Options& opts) {
  if (!opts.check_known({"listen", "size", "response-size", "threads", "max-seconds"})) return 2;
  uint64_t nofile = raise_nofile();
  ServeConfig cfg{};
  cfg.request_size = static_cast<uint64_t>(opts.num("size", 1024));
  cfg.response_size = static_cast<uint64_t>(opts.num("response-size", static_cast<double>(cfg.request_size)));
  cfg.deadline_ns = now_ns() + static_cast<uint64_t>(opts.num("max-seconds", 3600) * 1e9);
  auto threads = static_cast<unsigned>(opts.num("threads", 1));
  if (cfg.request_size == 0 || threads == 0 || threads > 64) {
    std::fprintf(stderr, "l4_loadgen serve: --size and --threads must be positive\n");
    return 2;
  }
  base::SocketAddr bound;
  base::Fd lfd = listen_tcp(parse_addr_or_exit(opts.str("listen", "127.0.0.1:0")), bound);
  if (!lfd) {
    std::perror("l4_loadgen serve: listen");
    return 1;
  }
  std::vector<Conn> conns(static_cast<size_t>(nofile));
  std::printf("{\"mode\":\"serve\",\"listen\":\"%s\",\"nofile\":%llu}\n", bound.to_string().c_str(),
              static_cast<unsigned long long>(nofile));
  std::fflush(stdout);
  std::vector<std::thread> pool;
  for (unsigned i = 0; i < threads; ++i) {
    pool.emplace_back([&] { ServeLoop(cfg, lfd.get(), conns).run(); });
  }
  for (auto& t : pool) t.join();
  return 0;
}

}  // namespace mesh::bench
