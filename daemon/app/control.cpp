// The control loop's own jobs: signals (SIGTERM/SIGINT drain, SIGHUP reload), the drain
// sequence and its deadline, configuration reload, sd_notify and the systemd watchdog.
#include <sys/signalfd.h>

#include <cerrno>

#include <fmt/format.h>

#include "daemon/app/state.hpp"
#include "daemon/app/systemd_notify.hpp"
#include "daemon/base/log.hpp"
#include "daemon/base/strings.hpp"
#include "daemon/base/version.hpp"
#include "daemon/config/settings_loader.hpp"

namespace mesh::app {
namespace {

using namespace std::chrono_literals;

uint64_t active_connections(const App::State& s) { return s.budget->active(); }

// Drain: stop accepting, wait for connections to finish up to drain_timeout, reset the rest,
// then stop workers and servers. Polled every 50 ms on the control loop.
class Drainer final : private io::Timer::Handler {
 public:
  explicit Drainer(App::State& s) : s_(s) {}
  void begin() {
    deadline_ = s_.control->now() + s_.settings.runtime.drain_timeout;
    s_.control->schedule_after(timer_, 0ms);
  }

 private:
  void on_timer(io::Timer&) override {
    auto now = s_.control->refresh_now();
    uint64_t active = active_connections(s_);
    if (active == 0) return finish();
    if (!aborted_ && now >= deadline_) {
      base::log::warn("drain deadline passed with {} connection(s) open: resetting them", active);
      for (auto& w : s_.workers) w->abort_connections(proxy::CloseReason::DrainDeadline);
      aborted_ = true;
      deadline_ = now + 2s;  // bounded wait for the resets to complete
    } else if (aborted_ && now >= deadline_) {
      return finish();
    }
    s_.control->schedule_after(timer_, 50ms);
  }

  void finish() {
    for (auto& w : s_.workers) w->stop();
    for (auto& server : s_.servers) server->stop();
    // Give the servers one iteration to close their sockets, then leave the loop.
    s_.control->defer([this] { s_.control->request_stop(); });
  }

  App::State& s_;
  io::Timer timer_{this};
  base::MonoTime deadline_{};
  bool aborted_ = false;
};

class SignalReader final : public io::Op {
 public:
  explicit SignalReader(App::State& s) : s_(s) {}
  base::Status start() {
    sigset_t mask;
    sigemptyset(&mask);
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&mask, sig);
    fd_.reset(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!fd_) return base::fail_errno("create signalfd", errno);
    arm();
    return base::ok();
  }
  void complete(int res, uint32_t) override {
    if (res == sizeof info_) {
      if (info_.ssi_signo == SIGHUP) {
        reload_settings(s_);
        reload_policy(s_);
      }
      else begin_drain(s_);
    }
    if (res != -ECANCELED) arm();
  }

 private:
  void arm() { s_.control->read(*this, fd_.get(), &info_, sizeof info_); }
  App::State& s_;
  base::Fd fd_;
  signalfd_siginfo info_{};
};

class Watchdog final : private io::Timer::Handler {
 public:
  Watchdog(App::State& s, const SystemdNotifier& systemd, base::Duration interval)
      : s_(s), systemd_(systemd), interval_(interval) {}
  void start() { s_.control->schedule_after(timer_, interval_ / 2); }

 private:
  void on_timer(io::Timer&) override {
    auto now = s_.control->refresh_now();
    for (const auto& w : s_.workers) {
      if (now - w->last_heartbeat() > interval_) {
        base::log::error("worker {} has not run its loop for {}: withholding the watchdog ping", w->index(),
                         base::format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(now - w->last_heartbeat())));
        return s_.control->schedule_after(timer_, interval_ / 2);
      }
    }
    systemd_.notify("WATCHDOG=1");
    s_.control->schedule_after(timer_, interval_ / 2);
  }
  App::State& s_;
  const SystemdNotifier& systemd_;
  base::Duration interval_;
  io::Timer timer_{this};
};


// Settings whose change needs a restart (they shape sockets, threads or rings).
std::vector<std::string> restart_only_changes(const config::Settings& running, const config::Settings& next) {
  std::vector<std::string> out;
  auto check = [&](bool changed, const char* name) {
    if (changed) out.emplace_back(name);
  };
  check(running.node.name != next.node.name, "node.name");
  check(running.node.trust_domain != next.node.trust_domain, "node.trust_domain");
  check(running.runtime.workers != next.runtime.workers, "runtime.workers");
  check(running.runtime.ring_entries != next.runtime.ring_entries, "runtime.ring_entries");
  check(running.runtime.buffer_size != next.runtime.buffer_size, "runtime.buffer_size");
  check(running.runtime.buffers_per_worker != next.runtime.buffers_per_worker, "runtime.buffers_per_worker");
  check(running.runtime.local_tunnel_worker != next.runtime.local_tunnel_worker, "runtime.local_tunnel_worker");
  check(running.admin.socket_path != next.admin.socket_path || running.admin.metrics != next.admin.metrics ||
            running.admin.readiness != next.admin.readiness,
        "admin");
  bool relays_changed = running.relays.size() != next.relays.size();
  for (size_t i = 0; !relays_changed && i < running.relays.size(); ++i) {
    const auto& a = running.relays[i];
    const auto& b = next.relays[i];
    relays_changed = a.name != b.name || a.listen != b.listen || a.upstream != b.upstream ||
                     a.connect_timeout != b.connect_timeout || a.idle_timeout != b.idle_timeout;
  }
  check(relays_changed, "relay");
  return out;
}

}  // namespace

struct ControlParts {
  SystemdNotifier systemd;
  std::unique_ptr<Drainer> drainer;
  std::unique_ptr<SignalReader> signals;
  std::unique_ptr<Watchdog> watchdog;
};

void ControlPartsDeleter::operator()(ControlParts* p) const { delete p; }

void start_control(App::State& s) {
  s.control_parts.reset(new ControlParts);
  ControlParts& parts = *s.control_parts;
  parts.drainer = std::make_unique<Drainer>(s);
  parts.signals = std::make_unique<SignalReader>(s);
  if (auto st = parts.signals->start(); !st) {
    base::log::error("failed to watch signals: {}", st.error().message());
  }
  if (auto interval = parts.systemd.watchdog_interval(); interval > base::Duration::zero()) {
    parts.watchdog = std::make_unique<Watchdog>(s, parts.systemd, interval);
    parts.watchdog->start();
  }
  s.ready = true;
  base::log::info("meshd {} ready: {} worker(s), {} listener(s), admin socket {}", base::kVersion, s.workers.size(),
                  s.listeners.size(), s.settings.admin.socket_path);
  parts.systemd.notify(fmt::format("READY=1\nSTATUS=serving with {} worker(s)", s.workers.size()));
}

void begin_drain(App::State& s) {
  if (s.draining) return;
  s.draining = true;
  s.ready = false;
  base::log::info("draining: no new connections; {} open, deadline {}", active_connections(s),
                  base::format_duration(s.settings.runtime.drain_timeout));
  s.control_parts->systemd.notify("STOPPING=1\nSTATUS=draining");
  for (auto& w : s.workers) w->stop_accepting();
  s.control_parts->drainer->begin();
}

ReloadRecord reload_settings(App::State& s) {
  ReloadRecord rec;
  rec.time = std::chrono::system_clock::now();
  if (s.options.config_path.empty()) {
    rec.result = "failed";
    rec.errors.push_back("meshd runs on built-in defaults (no config file): nothing to reload");
  } else if (auto next = config::load_settings(s.options.config_path); !next) {
    rec.result = "failed";
    for (const auto& d : next.error()) {
      rec.errors.push_back(d.to_string());
      base::log::error("failed to reload config: {}", d.to_string());
    }
  } else {
    rec.result = "ok";
    rec.restart_needed = restart_only_changes(s.settings, *next);
    auto& rt = s.settings.runtime;
    rt.log_level = next->runtime.log_level;
    rt.max_connections = next->runtime.max_connections;
    rt.drain_timeout = next->runtime.drain_timeout;
    base::log::set_level(rt.log_level);
    s.budget->set_limit(effective_connection_limit(s, rt.max_connections));
    for (const auto& name : rec.restart_needed) {
      base::log::warn("config reloaded, but '{}' changed and takes effect only after a restart", name);
    }
    base::log::info("config reloaded from {}", s.options.config_path);
  }
  (rec.result == "ok" ? s.reloads_ok : s.reloads_failed)++;
  s.last_reload = rec;
  if (s.control_parts) s.control_parts->systemd.notify(fmt::format("STATUS=serving; last reload {}", rec.result));
  return rec;
}

}  // namespace mesh::app
