#pragma once
// Test fixture: a proxy Worker on its own thread relaying 127.0.0.1:<ephemeral> to a
// loopback upstream chosen by the test, plus small blocking socket helpers: a loopback
// listener whose connections the test accepts itself (accept_one) or a thread serves
// (Upstream).
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <doctest/doctest.h>

#include "daemon/io/socket.hpp"
#include "daemon/proxy/worker.hpp"

namespace mesh::testing {

using namespace std::chrono_literals;

// A blocking connection (5 s receive timeout); with `buffer_bytes`, fixed socket buffers of
// that size (no autotuning) on both directions.
inline base::Fd connect_to(const base::SocketAddr& addr, int buffer_bytes = 0) {
  base::Fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (buffer_bytes > 0) {
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof buffer_bytes);
  }
  sockaddr_storage ss;
  socklen_t len = addr.to_sockaddr(ss);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return base::Fd();
  timeval tv{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

inline bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads until EOF (returns true) or error/timeout (false).
inline bool read_to_eof(int fd, std::string& out) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;  // io_uring task work may interrupt blocking calls
    if (n == 0) return true;
    if (n < 0) return false;
    out.append(buf, static_cast<size_t>(n));
  }
}

inline std::string read_exact(int fd, size_t want) {
  std::string out;
  char buf[65536];
  while (out.size() < want) {
    ssize_t n = ::recv(fd, buf, std::min(sizeof buf, want - out.size()), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// A blocking listening socket on 127.0.0.1:<ephemeral>.
inline base::Fd listen_loopback() {
  auto l = io::listen_tcp(base::SocketAddr::parse("127.0.0.1:0").value(), {.reuse_port = false});
  REQUIRE(l);
  int flags = 0;
  ::ioctl(l->get(), FIONBIO, &flags);
  return std::move(*l);
}

// The next connection on `listen_fd` within `timeout_ms` (blocking, 5 s receive timeout), or
// an invalid Fd.
inline base::Fd accept_one(int listen_fd, int timeout_ms = 10000) {
  pollfd p{listen_fd, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return base::Fd();
  base::Fd c(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
  if (!c) return c;
  timeval tv{5, 0};
  ::setsockopt(c.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return c;
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 5000ms) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return pred();
}

struct RelayFixture {
  explicit RelayFixture(base::SocketAddr upstream, base::Duration idle = 1h, uint64_t limit = 1000,
                        base::Duration connect_timeout = 5s, uint32_t buffers = 64,
                        proxy::DestinationFn destination = nullptr, telemetry::RequestRecorder* requests = nullptr)
      : budget(limit) {
    auto w = proxy::Worker::create(
        {.index = 0, .ring_entries = 256, .buffer_size = 16384, .buffer_count = buffers, .requests = requests}, budget);
    REQUIRE(w);
    worker = std::move(*w);
    auto l = io::listen_tcp(base::SocketAddr::parse("127.0.0.1:0").value());
    REQUIRE(l);
    listen = io::local_address(l->get()).value();
    auto policy = std::make_shared<proxy::DialProfile>();
    policy->name = "test";
    policy->connect_timeout = connect_timeout;
    policy->idle_timeout = idle;
    if (!destination) destination = [upstream](int) { return proxy::FlowTarget::to(upstream); };
    worker->add_listener(proxy::ListenerSpec{1, std::move(*l), policy, stats_ptr, std::move(destination)});
    thread = std::thread([this] { REQUIRE(worker->run()); });
  }
  ~RelayFixture() {
    worker->stop();
    thread.join();
  }
  const proxy::RelayStats& stats() const { return *stats_ptr; }

  proxy::ConnectionBudget budget;
  std::shared_ptr<proxy::RelayStats> stats_ptr = std::make_shared<proxy::RelayStats>();
  std::unique_ptr<proxy::Worker> worker;
  base::SocketAddr listen;
  std::thread thread;
};

// A loopback upstream served by a thread: accepts connections and runs `handler` on each.
struct Upstream {
  template <class Handler>
  explicit Upstream(Handler handler, int count = 1) : fd(listen_loopback()), addr(io::local_address(fd.get()).value()) {
    thread = std::thread([this, handler, count] {
      for (int i = 0; i < count; ++i) {
        base::Fd c = accept_one(fd.get());
        if (!c) return;
        handler(c.get());
      }
    });
  }
  ~Upstream() { thread.join(); }
  base::Fd fd;
  base::SocketAddr addr;
  std::thread thread;
};

}  // namespace mesh::testing
