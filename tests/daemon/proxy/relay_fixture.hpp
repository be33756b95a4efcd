#pragma once
// Test fixture: a proxy Worker on its own thread relaying 127.0.0.1:<ephemeral> to a
// loopback upstream chosen by the test, plus small blocking socket helpers.
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

inline base::Fd connect_to(const base::SocketAddr& addr) {
  base::Fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
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
                        proxy::DestinationFn destination = nullptr)
      : budget(limit) {
    auto w = proxy::Worker::create({.index = 0, .ring_entries = 256, .buffer_size = 16384, .buffer_count = buffers}, budget);
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
  explicit Upstream(Handler handler, int count = 1) {
    auto l = io::listen_tcp(base::SocketAddr::parse("127.0.0.1:0").value(), {.reuse_port = false});
    REQUIRE(l);
    fd = std::move(*l);
    int flags = 0;
    ::ioctl(fd.get(), FIONBIO, &flags);
    addr = io::local_address(fd.get()).value();
    thread = std::thread([this, handler, count] {
      for (int i = 0; i < count; ++i) {
        pollfd p{fd.get(), POLLIN, 0};
        if (::poll(&p, 1, 10000) <= 0) return;
        base::Fd c(::accept4(fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!c) return;
        timeval tv{5, 0};
        ::setsockopt(c.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
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
