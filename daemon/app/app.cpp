#include "daemon/app/app.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "daemon/app/state.hpp"
#include "daemon/base/log.hpp"
#include "daemon/io/socket.hpp"

namespace mesh::app {
namespace {

unsigned worker_count(const config::RuntimeSettings& rt) {
  if (rt.workers != 0) return rt.workers;
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

// One SO_REUSEPORT listener per worker, so the kernel spreads connections. With port 0 the
// first bind picks the port and the others join it, so every worker serves the same address.
base::Status bind_relay(App::State& s, const config::RelaySettings& relay) {
  base::SocketAddr addr = relay.listen;
  std::vector<base::Fd> fds;
  for (size_t i = 0; i < s.workers.size(); ++i) {
    auto fd = io::listen_tcp(addr);
    if (!fd) return base::fail(std::move(fd.error()).wrap(fmt::format("open relay '{}'", relay.name)));
    if (addr.port() == 0) {
      auto bound = io::local_address(fd->get());
      if (!bound) return base::fail(bound.error());
      addr = *bound;
    }
    fds.push_back(std::move(*fd));
  }
  ListenerPlan plan;
  plan.kind = "relay";
  plan.name = relay.name;
  plan.listen = addr.to_string();
  plan.upstream = relay.upstream.to_string();
  plan.fds = std::move(fds);
  plan.make_profile = [relay] {
    // A policy per worker: relays copy its shared_ptr, and per-worker copies keep that
    // reference count off other cores' cache lines.
    auto p = std::make_shared<proxy::DialProfile>();
    p->name = relay.name;
    p->connect_timeout = relay.connect_timeout;
    p->idle_timeout = relay.idle_timeout;
    return p;
  };
  base::SocketAddr upstream = relay.upstream;
  plan.destination = [upstream](int) { return proxy::FlowTarget::to(upstream); };
  auto id = install_listener(s, std::move(plan));
  if (!id) return base::fail(id.error());
  return base::ok();
}

base::Result<base::Fd> open_admin_socket(const config::AdminSettings& admin) {
  std::filesystem::path dir = std::filesystem::path(admin.socket_path).parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return base::fail(base::Errc::System, fmt::format("create directory '{}': {}", dir.string(), ec.message()));
  return io::listen_unix(admin.socket_path, admin.socket_mode);
}

base::Status open_servers(App::State& s) {
  const auto& a = s.settings.admin;
  admin::HttpServerOptions base_opts{.name = "", .request_timeout = a.request_timeout,
                                     .max_connections = a.max_connections, .limits = {}};
  auto add = [&](std::string name, const admin::Router& router, base::Fd fd) {
    auto opts = base_opts;
    opts.name = std::move(name);
    s.servers.push_back(std::make_unique<admin::HttpServer>(*s.control, router, opts, std::move(fd)));
  };
  auto sock = open_admin_socket(a);
  if (!sock) return base::fail(std::move(sock.error()).wrap("open admin socket"));
  add("admin", s.admin_routes, std::move(*sock));
  if (a.metrics) {
    auto fd = io::listen_tcp(*a.metrics, {.reuse_port = false});
    if (!fd) return base::fail(std::move(fd.error()).wrap("open metrics listener"));
    s.metrics_addr = io::local_address(fd->get()).value_or(*a.metrics);
    add("metrics", s.metrics_routes, std::move(*fd));
  }
  if (a.readiness) {
    auto fd = io::listen_tcp(*a.readiness, {.reuse_port = false});
    if (!fd) return base::fail(std::move(fd.error()).wrap("open readiness listener"));
    s.readiness_addr = io::local_address(fd->get()).value_or(*a.readiness);
    add("readiness", s.readiness_routes, std::move(*fd));
  }
  return base::ok();
}

// Each relayed connection holds two descriptors; keep a reserve for listeners, the admin
// servers and the process itself. A limit the descriptors cannot back would turn into
// accept errors; capping it makes excess connections a counted, clean rejection instead.
uint64_t fd_backed_connections(const config::Settings& settings, size_t workers) {
  rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return UINT64_MAX;
  uint64_t reserve = 256 + settings.admin.max_connections + workers * (settings.relays.size() + 2);
  return lim.rlim_cur > reserve ? (lim.rlim_cur - reserve) / 2 : 1;
}

}  // namespace

uint64_t effective_connection_limit(const App::State& s, uint64_t configured) {
  if (configured <= s.fd_backed_connections) return configured;
  base::log::warn("runtime.max_connections {} needs more file descriptors than RLIMIT_NOFILE allows: limiting to {}",
                  configured, s.fd_backed_connections);
  return s.fd_backed_connections;
}

uint64_t raise_open_file_limit(uint64_t wanted) {
  rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur >= wanted) return lim.rlim_cur;
  rlimit want{wanted, std::max<rlim_t>(wanted, lim.rlim_max)};
  if (setrlimit(RLIMIT_NOFILE, &want) == 0) return wanted;
  // Unprivileged: the soft limit can still go up to the hard one.
  want = {lim.rlim_max, lim.rlim_max};
  if (setrlimit(RLIMIT_NOFILE, &want) == 0) return lim.rlim_max;
  return lim.rlim_cur;
}

namespace {
proxy::HttpOptions http_options(const config::HttpSettings& h) {
  return proxy::HttpOptions{h.detect_timeout, h.request_headers_timeout, h.server_first_ports};
}
}  // namespace

base::Result<std::unique_ptr<App>> App::create(config::Settings settings, AppOptions options) {
  auto s = std::make_unique<State>();
  s->settings = std::move(settings);
  s->options = std::move(options);
  base::log::set_level(s->settings.runtime.log_level);
  const auto& rt = s->settings.runtime;

  auto control = io::Loop::create(io::RingOptions{.entries = 256, .single_issuer = true});
  if (!control) return base::fail(std::move(control.error()).wrap("create control loop"));
  s->control = std::move(*control);
  s->fd_backed_connections = fd_backed_connections(s->settings, worker_count(rt));
  s->budget = std::make_unique<proxy::ConnectionBudget>(effective_connection_limit(*s, rt.max_connections));
  State* state = s.get();
  s->local_tunnels = std::make_unique<proxy::LocalTunnels>(
      worker_count(rt),
      rt.local_tunnel_worker == "same" ? proxy::LocalTunnels::Placement::SameWorker
                                       : proxy::LocalTunnels::Placement::OtherWorker,
      [state](unsigned to, uint64_t listener, base::Fd accepted) {
        state->workers[to]->adopt_tunnel(listener, std::move(accepted));
      });
  s->request_metrics = std::make_unique<telemetry::RequestMetrics>(worker_count(rt));
  for (unsigned i = 0; i < worker_count(rt); ++i) {
    auto w = proxy::Worker::create({.index = i, .ring_entries = rt.ring_entries, .buffer_size = rt.buffer_size,
                                    .buffer_count = rt.buffers_per_worker, .local_tunnels = s->local_tunnels.get(),
                                    .requests = &s->request_metrics->recorder(i),
                                    .http = http_options(s->settings.http)},
                                   *s->budget);
    if (!w) return base::fail(std::move(w.error()).wrap(fmt::format("start worker {}", i)));
    s->workers.push_back(std::move(*w));
  }
  for (const auto& relay : s->settings.relays) {
    if (auto st = bind_relay(*s, relay); !st) return base::fail(st.error());
  }
  if (auto st = open_servers(*s); !st) return base::fail(st.error());
  if (auto st = start_policy(*s); !st) return base::fail(st.error());
  if (auto st = start_identity(*s); !st) return base::fail(std::move(st.error()).wrap("start identities"));
  if (auto st = start_capture(*s); !st) return base::fail(std::move(st.error()).wrap("start capture"));
  publish_view(*s);
  add_collectors(*s);
  add_admin_routes(*s);
  return std::unique_ptr<App>(new App(std::move(s)));
}

App::App(std::unique_ptr<State> state) : state_(std::move(state)) {}

App::~App() {
  for (auto& w : state_->workers) w->stop();
  for (auto& t : state_->threads) {
    if (t.joinable()) t.join();
  }
}

int App::run() {
  State& s = *state_;
  // Signals are taken from a signalfd on the control loop; block them before the workers
  // start so that every thread inherits the mask.
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, sig);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  for (auto& w : s.workers) {
    proxy::Worker* worker = w.get();
    s.threads.emplace_back([worker] {
      pthread_setname_np(pthread_self(), fmt::format("meshd-w{}", worker->index()).c_str());
      if (auto st = worker->run(); !st) {
        base::log::error("worker {} stopped: {}", worker->index(), st.error().message());
      }
    });
  }
  for (auto& server : s.servers) server->start();
  start_control(s);
  auto st = s.control->run();
  if (!st) {
    base::log::error("control loop failed: {}", st.error().message());
    s.exit_code = 1;
  }
  for (auto& w : s.workers) w->stop();
  for (auto& t : s.threads) t.join();
  s.threads.clear();
  ::unlink(s.settings.admin.socket_path.c_str());  // a stale socket would read as "refused"
  base::log::info("meshd stopped");
  return s.exit_code;
}

}  // namespace mesh::app
