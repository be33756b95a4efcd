#pragma once
// App::State: everything the composition root owns, shared by app.cpp (lifecycle),
// control.cpp (signals, drain, reload), status.cpp and metrics.cpp. Members other than the
// workers' own stats are touched only on the main (control) thread.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "daemon/admin/http_server.hpp"
#include "daemon/admin/router.hpp"
#include "daemon/app/app.hpp"
#include "daemon/base/fd.hpp"
#include "daemon/config/diagnostic.hpp"
#include "daemon/config/settings.hpp"
#include "daemon/io/loop.hpp"
#include "daemon/proxy/decide.hpp"
#include "daemon/proxy/hbone/local_tunnels.hpp"
#include "daemon/proxy/mesh_view.hpp"
#include "daemon/proxy/worker.hpp"
#include "daemon/telemetry/registry.hpp"
#include "daemon/telemetry/request_metrics.hpp"
#include "policy/compiled.hpp"
#include "tunnel/tls/spiffe_id.hpp"

#include <functional>

#include <nlohmann/json.hpp>

namespace mesh::app {

struct ReloadRecord {
  std::string result = "none";  // "none" (never reloaded), "ok", "failed"
  std::chrono::system_clock::time_point time{};
  std::vector<std::string> errors;     // file:line:col: message, for "failed"
  std::vector<std::string> restart_needed;  // changed settings that apply only after a restart
};

// One logical listener (a relay, or a workload's outbound/inbound capture port) served by
// every worker. Its stats are per worker; the scrape sums them.
struct ListenerEntry {
  uint64_t id = 0;
  std::string kind;      // "relay", "outbound", "inbound"
  std::string name;      // relay name, or "<namespace>/<workload>"
  std::string listen;    // the bound address
  std::string upstream;  // a fixed address, or "original destination"
  std::vector<std::shared_ptr<proxy::RelayStats>> stats;  // one per worker
};

// An enrolled workload and the listeners serving it.
struct WorkloadEntry {
  std::string name;
  std::string k8s_namespace;
  std::string service_account;
  std::string where;  // netns path or cgroup path
  std::vector<std::string> ips;
  std::vector<uint64_t> listener_ids;
  tunnel::SpiffeId identity;
  std::vector<base::IpAddr> addresses;
};

struct CaptureState;  // capture.cpp: the datapath engine and the enrolled workloads
struct CaptureStateDeleter {
  void operator()(CaptureState* p) const;
};
struct IdentityState;  // identity.cpp: the credential manager and its timers
struct IdentityStateDeleter {
  void operator()(IdentityState* p) const;
};
struct PolicyState;  // policy.cpp: the running policy snapshot and its reloads
struct PolicyStateDeleter {
  void operator()(PolicyState* p) const;
};
// The decisions and the mesh view live in daemon/proxy; the app builds and publishes them.
using proxy::CapturePorts;
using proxy::current_view;
using proxy::install_view;
using proxy::LocalWorkload;
using proxy::MeshPeer;
using proxy::MeshView;
using proxy::still_allowed;
using proxy::thread_random;
struct ControlParts;  // control.cpp: signal reader, drainer, watchdog
struct ControlPartsDeleter {
  void operator()(ControlParts* p) const;
};

struct App::State {
  config::Settings settings;
  AppOptions options;
  std::chrono::system_clock::time_point started_at = std::chrono::system_clock::now();
  std::unique_ptr<io::Loop> control;
  std::unique_ptr<ControlParts, ControlPartsDeleter> control_parts;  // before `control` dies
  std::unique_ptr<proxy::ConnectionBudget> budget;
  // Outlives the workers: their tunnel connections unregister from it as they are freed.
  std::unique_ptr<proxy::LocalTunnels> local_tunnels;
  uint64_t fd_backed_connections = UINT64_MAX;  // what RLIMIT_NOFILE can back (2 fds each)
  // Outlives the workers, which record into their own recorder of it.
  std::unique_ptr<telemetry::RequestMetrics> request_metrics;
  std::vector<std::unique_ptr<proxy::Worker>> workers;
  std::vector<std::thread> threads;
  std::vector<ListenerEntry> listeners;
  uint64_t next_listener_id = 1;
  std::unique_ptr<IdentityState, IdentityStateDeleter> identity;
  std::unique_ptr<PolicyState, PolicyStateDeleter> policy;
  std::unique_ptr<CaptureState, CaptureStateDeleter> capture;  // null when capture is off

  telemetry::Registry registry;
  admin::Router admin_routes;
  admin::Router metrics_routes;
  admin::Router readiness_routes;
  std::vector<std::unique_ptr<admin::HttpServer>> servers;
  std::optional<base::SocketAddr> metrics_addr;
  std::optional<base::SocketAddr> readiness_addr;

  bool ready = false;
  bool draining = false;
  ReloadRecord last_reload;
  uint64_t reloads_ok = 0;
  uint64_t reloads_failed = 0;
  int exit_code = 0;
};

// listeners.cpp: serves `fds` (one per worker, or one shared by all) on every worker.
struct ListenerPlan {
  std::string kind, name, listen, upstream;
  std::vector<base::Fd> fds;
  std::function<std::shared_ptr<proxy::DialProfile>()> make_profile;  // one per worker
  proxy::DestinationFn destination;
  std::shared_ptr<const proxy::TunnelServerSpec> tunnel_server;  // an HBONE (15008) listener
};
base::Result<uint64_t> install_listener(App::State& s, ListenerPlan plan);
void remove_listener(App::State& s, uint64_t id, bool abort);
// identity.cpp
base::Status start_identity(App::State& s);
// Whether [identity] names any certificate source: without one the node runs plaintext.
bool identity_configured(const App::State& s);
// A certificate for `id` (issued by the built-in CA if there is none yet).
base::Status ensure_identity(App::State& s, const tunnel::SpiffeId& id);
// Builds a MeshView from the current identities and workloads and hands it to every worker.
void publish_view(App::State& s);
nlohmann::json identity_status(const App::State& s);
void add_identity_collectors(App::State& s);
// policy.cpp
base::Status start_policy(App::State& s);  // Errc::Invalid: the policy set has errors
ReloadRecord reload_policy(App::State& s);
policy::PolicySnapshot current_policy(const App::State& s);
nlohmann::json policy_status(const App::State& s);
void add_policy_routes(App::State& s);
void add_policy_collectors(App::State& s);
// capture.cpp
base::Status start_capture(App::State& s);
void add_capture_peers(const App::State& s, MeshView& view);
void add_capture_routes(App::State& s);
void add_capture_collectors(App::State& s);
nlohmann::json capture_status(const App::State& s);
// app.cpp: min(configured, what the descriptor limit backs), with a warning when capped.
uint64_t effective_connection_limit(const App::State& s, uint64_t configured);
// control.cpp
void start_control(App::State& s);        // signals, watchdog; READY=1
void begin_drain(App::State& s);          // SIGTERM path
ReloadRecord reload_settings(App::State& s);
// status.cpp
std::string status_json(const App::State& s);
void add_admin_routes(App::State& s);
// metrics.cpp
void add_collectors(App::State& s);

}  // namespace mesh::app
