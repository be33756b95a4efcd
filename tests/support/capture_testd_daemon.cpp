#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>

#include <fmt/format.h>

#include "daemon/base/log.hpp"
#include "tests/support/capture_net.hpp"
#include "tests/support/capture_testd.hpp"

namespace mesh::testsupport {

TestDaemon::TestDaemon(TestdOptions options, std::unique_ptr<datapath::Capture> capture)
    : options_(std::move(options)), capture_(std::move(capture)), resolver_(capture_->resolver()) {
  events_.reset(::open(options_.events.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
}

void TestDaemon::event(const std::string& line) {
  std::string l = line + "\n";
  (void)!::write(events_.get(), l.data(), l.size());
}

void TestDaemon::start(datapath::Enrolled e) {
  auto w = std::make_shared<Workload>();
  w->name = e.name;
  w->cookie = e.netns_cookie;
  w->listeners = std::move(e.listeners);
  for (const auto& s : capture_->workloads()) {
    if (s.record.spec.name == e.name && !s.record.spec.bare_metal()) {
      auto ns = datapath::Netns::open(s.record.spec.netns_path);
      if (ns) w->netns.emplace(std::move(*ns));
    }
  }
  w->threads.emplace_back([this, w] { accept_loop(w, w->listeners.outbound.get(), true); });
  if (w->listeners.inbound)
    w->threads.emplace_back([this, w] { accept_loop(w, w->listeners.inbound.get(), false); });
  std::lock_guard lock(mu_);
  workloads_[e.name] = std::move(w);
}

void TestDaemon::stop(const std::string& name) {
  std::shared_ptr<Workload> w;
  {
    std::lock_guard lock(mu_);
    auto it = workloads_.find(name);
    if (it == workloads_.end()) return;
    w = std::move(it->second);
    workloads_.erase(it);
  }
  // shutdown() wakes a thread blocked in accept() on a listening socket.
  for (const base::Fd* fd : {&w->listeners.outbound, &w->listeners.inbound, &w->listeners.tunnel})
    if (*fd) ::shutdown(fd->get(), SHUT_RDWR);
  for (auto& t : w->threads) t.join();
}

void TestDaemon::accept_loop(std::shared_ptr<Workload> w, int fd, bool is_outbound) {
  for (;;) {
    int c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // listener shut down
    }
    std::thread([this, w, c, is_outbound] {
      base::Fd conn(c);
      if (is_outbound) outbound(w.get(), std::move(conn));
      else inbound(w.get(), std::move(conn));
    }).detach();
  }
}

// Connects to `dst` from inside the workload's netns (the socket stays there afterwards).
static base::Result<base::Fd> connect_from(const std::optional<datapath::Netns>& netns,
                                           const base::SocketAddr& dst, const ConnectOptions& o) {
  if (!netns) return connect_to(dst, o);
  auto scope = datapath::NetnsScope::enter(*netns);
  if (!scope) return base::fail(std::move(scope.error()));
  return connect_to(dst, o);
}

void TestDaemon::outbound(Workload* w, base::Fd conn) {
  std::string peer = peer_of(conn.get());
  auto orig = resolver_.outbound(w->cookie, conn.get());
  if (!orig) {
    ++misses_;
    event(fmt::format("outbound-miss wl={} peer={} err={}", w->name, peer, orig.error().message()));
    return;
  }
  auto svc = options_.services.find(*orig);
  base::SocketAddr target = svc != options_.services.end() ? svc->second : *orig;
  event(fmt::format("outbound wl={} orig={} peer={} target={}", w->name, orig->to_string(), peer,
                    target.to_string()));
  ConnectOptions co;
  co.mark = options_.capture.mark;
  auto up = connect_from(w->netns, target, co);
  if (!up) {
    event(fmt::format("outbound-fail wl={} target={} err={}", w->name, target.to_string(), up.error().message()));
    return;
  }
  relay(conn.get(), up->get());
}

void TestDaemon::inbound(Workload* w, base::Fd conn) {
  std::string peer = peer_of(conn.get());
  auto orig = resolver_.inbound(conn.get());
  if (!orig) {
    ++misses_;
    event(fmt::format("inbound-miss wl={} peer={} err={}", w->name, peer, orig.error().message()));
    return;
  }
  const auto& c = options_.capture;
  uint16_t port = orig->port();
  if (port == c.outbound_port || port == c.inbound_port || port == c.tunnel_port) {
    event(fmt::format("inbound-reject wl={} orig={} peer={}", w->name, orig->to_string(), peer));
    return;
  }
  event(fmt::format("inbound wl={} orig={} peer={}", w->name, orig->to_string(), peer));
  base::IpAddr hop = orig->ip().is_v4() ? base::IpAddr::v4(0x7f000006) : *base::IpAddr::parse("::1");
  ConnectOptions co;
  co.mark = c.mark;
  co.source = &hop;
  auto up = connect_from(w->netns, *orig, co);
  if (!up) {
    event(fmt::format("inbound-fail wl={} orig={} err={}", w->name, orig->to_string(), up.error().message()));
    return;
  }
  relay(conn.get(), up->get());
}

int TestDaemon::run() {
  for (auto& e : capture_->restore()) start(std::move(e));
  base::Fd srv(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  ::unlink(options_.control.c_str());
  std::snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", options_.control.c_str());
  if (::bind(srv.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || ::listen(srv.get(), 64) != 0) {
    base::log::error("failed to listen on control socket '{}'", options_.control);
    return 1;
  }
  std::thread([this] {  // garbage collection of vanished netns, as meshd's timer will do
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      for (const auto& name : capture_->collect_garbage()) {
        event("collected wl=" + name);
        stop(name);
      }
    }
  }).detach();
  event(fmt::format("ready mode={}", to_string(capture_->mode().mode)));
  for (;;) {
    base::Fd c(::accept4(srv.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!c) continue;
    auto line = read_line(c.get(), 5000);
    if (!line) continue;
    write_all(c.get(), command(*line));
  }
}

}  // namespace mesh::testsupport
