// Workload identities in the daemon: the credential manager on the control thread (built-in
// CA leaves renewed at half-life, PEM directories re-read on inotify and on a poll), a leaf for
// every enrolled workload's identity when a CA is configured, and the mesh view that carries
// the current TLS contexts to the workers.
#include <sys/inotify.h>

#include <cerrno>
#include <filesystem>

#include <fmt/format.h>

#include "daemon/proxy/mesh_view.hpp"
#include "daemon/app/state.hpp"
#include "daemon/identity/credential_manager.hpp"
#include "daemon/base/log.hpp"
#include "daemon/identity/cert_files.hpp"

namespace mesh::app {

struct IdentityState final : private io::Timer::Handler, public io::Op {
  explicit IdentityState(App::State& state) : s(state), creds(base::SystemClock::instance()) {}
  explicit IdentityState(App::State& state, identity::CredentialOptions o)
      : s(state), creds(base::SystemClock::instance(), o) {}

  void on_timer(io::Timer&) override;
  void complete(int res, uint32_t flags) override;  // inotify events
  void arm_inotify();
  void watch();
  void schedule();

  App::State& s;
  identity::CredentialManager creds;
  bool has_ca = false;
  io::Timer timer{this};
  base::Fd inotify;
  alignas(inotify_event) char events[4096];
  uint64_t rotations = 0, failures = 0;
};

void IdentityStateDeleter::operator()(IdentityState* p) const { delete p; }

namespace {

std::vector<std::string> directories_under(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root, ec)) {
    if (entry.is_directory() && std::filesystem::exists(entry.path() / identity::kCertChainFile)) {
      out.push_back(entry.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

base::Status start_identity(App::State& s) {
  const auto& cfg = s.settings.identity;
  s.identity.reset(new IdentityState(s, identity::CredentialOptions{.leaf_validity = cfg.leaf_validity}));
  IdentityState& id = *s.identity;
  if (!cfg.ca_dir.empty()) {
    auto ca = identity::load_ca(cfg.ca_dir);
    if (!ca) return base::fail(std::move(ca.error()).wrap(fmt::format("load the CA in '{}'", cfg.ca_dir)));
    id.creds.set_ca(std::move(*ca));
    id.has_ca = true;
  }
  for (const auto& dir : cfg.cert_dirs) {
    auto loaded = id.creds.add_directory(dir);
    if (!loaded) return base::fail(std::move(loaded.error()).wrap(fmt::format("load certificates in '{}'", dir)));
  }
  if (!cfg.cert_root.empty()) {
    for (const auto& dir : directories_under(cfg.cert_root)) {
      if (auto loaded = id.creds.add_directory(dir); !loaded) {
        base::log::warn("failed to load certificates in '{}': {}", dir, loaded.error().message());
      }
    }
  }
  id.watch();
  id.schedule();
  return base::ok();
}

void IdentityState::schedule() {
  base::MonoTime due = creds.next_due();
  if (due == base::MonoTime::max()) return s.control->cancel(timer);
  s.control->schedule(timer, std::max(due, s.control->refresh_now()));
}

void IdentityState::on_timer(io::Timer&) {
  auto r = creds.refresh();
  rotations += r.rotated;
  failures += r.failed;
  if (r.rotated > 0) publish_view(s);
  schedule();
}

void IdentityState::watch() {
  auto dirs = creds.watched_directories();
  if (dirs.empty()) return;
  inotify.reset(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify) {
    base::log::warn("failed to watch certificate directories (polling only): {}", std::strerror(errno));
    return;
  }
  for (const auto& d : dirs) {
    if (inotify_add_watch(inotify.get(), d.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE) < 0) {
      base::log::warn("failed to watch '{}' (polled instead): {}", d, std::strerror(errno));
    }
  }
  arm_inotify();
}

void IdentityState::arm_inotify() { s.control->read(*this, inotify.get(), events, sizeof events); }

void IdentityState::complete(int res, uint32_t) {
  if (res == -ECANCELED) return;
  if (res > 0) {
    auto r = creds.reload();
    rotations += r.rotated;
    failures += r.failed;
    if (r.rotated > 0) {
      base::log::info("certificates reloaded: {} identity(ies) rotated", r.rotated);
      publish_view(s);
    }
    schedule();
  }
  arm_inotify();
}

bool identity_configured(const App::State& s) {
  const auto& cfg = s.settings.identity;
  return !cfg.ca_dir.empty() || !cfg.cert_dirs.empty() || !cfg.cert_root.empty();
}

base::Status ensure_identity(App::State& s, const tunnel::SpiffeId& id) {
  IdentityState& st = *s.identity;
  if (st.creds.contexts(id)) return base::ok();
  if (!st.has_ca) {
    return base::fail(base::Errc::NotFound,
                      fmt::format("no certificate for {} (configure identity.ca_dir, or a PEM directory for it)",
                                  id.str()));
  }
  if (auto issued = st.creds.add_issued(id); !issued) return issued;
  st.schedule();
  return base::ok();
}

void publish_view(App::State& s) {
  auto view = std::make_shared<MeshView>();
  view->trust_domain = s.settings.node.trust_domain;
  view->policy = current_policy(s);
  // Meshed peers: the policy's workloads that speak HBONE, then this node's enrolled ones.
  if (view->policy && identity_configured(s)) {
    for (const auto& w : view->policy->workloads().all()) {
      if (w.protocol != policy::model::WorkloadProtocol::Hbone) continue;
      auto id = tunnel::SpiffeId::parse(w.identity);
      if (!id) continue;
      for (const auto& ip : w.addresses) view->peers[ip] = MeshPeer{*id, true};
    }
  }
  if (s.identity) {
    for (const auto& status : s.identity->creds.status()) {
      if (auto ctx = s.identity->creds.contexts(status.id)) view->tls[status.id] = *ctx;
    }
  }
  add_capture_peers(s, *view);
  std::shared_ptr<const MeshView> shared = std::move(view);
  install_view(shared);  // the control thread's own copy
  for (auto& w : s.workers) w->post([shared] { install_view(shared); });
}

nlohmann::json identity_status(const App::State& s) {
  nlohmann::json out = nlohmann::json::array();
  if (!s.identity) return out;
  auto seconds = [](base::WallTime t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  };
  for (const auto& st : s.identity->creds.status()) {
    nlohmann::json j = {{"identity", st.id.str()}, {"source", identity::to_string(st.source)},
                        {"not_after", seconds(st.not_after)}, {"renew_at", seconds(st.renew_at)},
                        {"generation", st.generation}, {"serial", st.serial}};
    if (!st.directory.empty()) j["directory"] = st.directory;
    if (!st.last_error.empty()) j["last_error"] = st.last_error;
    out.push_back(std::move(j));
  }
  return out;
}

void add_identity_collectors(App::State& s) {
  const App::State* sp = &s;
  s.registry.add([sp](telemetry::Exposition& e) {
    using telemetry::MetricType;
    if (!sp->identity) return;
    e.family("meshd_identity_cert_expiration_timestamp_seconds", "When the certificate in use for an identity expires.",
             MetricType::Gauge);
    for (const auto& st : sp->identity->creds.status()) {
      e.sample({{"identity", st.id.str()}},
               static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(st.not_after.time_since_epoch()).count()));
    }
    e.family("meshd_identity_cert_rotations_total", "Certificates replaced (renewed leaves, reloaded directories), by result.",
             MetricType::Counter);
    e.sample({{"result", "ok"}}, static_cast<double>(sp->identity->rotations));
    e.sample({{"result", "failed"}}, static_cast<double>(sp->identity->failures));
  });
}

}  // namespace mesh::app
