// Mesh policy in the daemon: loads every *.toml of [policy] dir at start (an invalid set
// refuses to start, like an invalid meshd.toml), reloads on inotify (debounced), SIGHUP and
// POST /v1/reload — all or nothing: an invalid set keeps the running one and is reported —
// publishes each new snapshot to the workers in the mesh view, and has them re-check their
// live inbound connections against it (Istio closes connections a new policy denies).
#include <sys/inotify.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/proxy/decide.hpp"
#include "daemon/proxy/mesh_view.hpp"
#include "daemon/app/state.hpp"
#include "daemon/base/log.hpp"
#include "policy/explain.hpp"
#include "policy/toml/codec.hpp"

namespace mesh::app {

struct PolicyState final : private io::Timer::Handler, public io::Op {
  explicit PolicyState(App::State& state) : s(state) {}
  void on_timer(io::Timer&) override { reload_policy(s); }
  void complete(int res, uint32_t flags) override;
  void watch();

  App::State& s;
  policy::PolicySnapshot current;
  std::vector<std::string> files;
  ReloadRecord last;
  uint64_t loaded_ok = 0, loaded_failed = 0;
  std::chrono::system_clock::time_point loaded_at{};
  base::Fd inotify;
  alignas(inotify_event) char events[4096];
  io::Timer debounce{this};
};

void PolicyStateDeleter::operator()(PolicyState* p) const { delete p; }

namespace {

std::vector<std::string> policy_files(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.is_regular_file() && e.path().extension() == ".toml") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

policy::CompileOptions compile_options(const config::Settings& s) {
  policy::CompileOptions o;
  o.trust_domain = s.node.trust_domain;
  o.cluster_domain = s.policy.cluster_domain;
  o.root_namespace = s.policy.root_namespace;
  return o;
}

// Loads the directory; on success installs the snapshot. Returns the diagnostics.
std::vector<std::string> load(PolicyState& ps) {
  const auto& cfg = ps.s.settings;
  auto files = policy_files(cfg.policy.dir);
  auto result = policy::load_policy(files, compile_options(cfg));
  std::vector<std::string> errors;
  for (const auto& d : result.errors) errors.push_back(d.to_string());
  if (!result.ok()) return errors;
  ps.current = std::move(result.policy);
  ps.files = std::move(files);
  ps.loaded_at = std::chrono::system_clock::now();
  return errors;
}

}  // namespace

base::Status start_policy(App::State& s) {
  s.policy.reset(new PolicyState(s));
  PolicyState& ps = *s.policy;
  auto errors = load(ps);
  if (!ps.current) {
    std::string joined;
    for (const auto& e : errors) joined += "\n  " + e;
    return base::fail(base::Errc::Invalid, fmt::format("invalid policy in {} ({} error{}):{}", s.settings.policy.dir,
                                                       errors.size(), errors.size() == 1 ? "" : "s", joined));
  }
  ++ps.loaded_ok;
  base::log::info("policy loaded from {}: {} file(s), {} workload(s), {} service(s), {} authorization(s)",
                  s.settings.policy.dir, ps.files.size(), ps.current->workloads().all().size(),
                  ps.current->services().all().size(), ps.current->authorizations().all().size());
  ps.watch();
  return base::ok();
}

void PolicyState::watch() {
  const std::string& dir = s.settings.policy.dir;
  inotify.reset(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify || inotify_add_watch(inotify.get(), dir.c_str(),
                                    IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE) < 0) {
    base::log::warn("not watching policy directory '{}' (reload with SIGHUP): {}", dir, std::strerror(errno));
    inotify.reset();
    return;
  }
  s.control->read(*this, inotify.get(), events, sizeof events);
}

void PolicyState::complete(int res, uint32_t) {
  if (res == -ECANCELED) return;
  // Editors write files in several steps: reload once things have settled.
  if (res > 0) s.control->schedule_after(debounce, s.settings.policy.reload_delay);
  s.control->read(*this, inotify.get(), events, sizeof events);
}

ReloadRecord reload_policy(App::State& s) {
  PolicyState& ps = *s.policy;
  ReloadRecord rec;
  rec.time = std::chrono::system_clock::now();
  auto previous = ps.current;
  auto errors = load(ps);
  if (ps.current == previous) {
    rec.result = "failed";
    rec.errors = errors;
    ++ps.loaded_failed;
    for (const auto& e : errors) base::log::error("failed to reload policy: {}", e);
    if (errors.empty()) base::log::error("failed to reload policy from {}", s.settings.policy.dir);
  } else {
    rec.result = "ok";
    ++ps.loaded_ok;
    base::log::info("policy reloaded from {}: {} file(s), version {}", s.settings.policy.dir, ps.files.size(),
                    ps.current->version().substr(0, 12));
    publish_view(s);
    // Each worker installs the new view first (posted before this), then re-checks.
    for (auto& w : s.workers) w->recheck([](const proxy::FlowAttrs& a) { return still_allowed(current_view(), a); });
  }
  ps.last = rec;
  return rec;
}

policy::PolicySnapshot current_policy(const App::State& s) { return s.policy ? s.policy->current : nullptr; }

nlohmann::json policy_status(const App::State& s) {
  nlohmann::json j = {{"dir", s.settings.policy.dir}};
  if (!s.policy || !s.policy->current) return j;
  const PolicyState& ps = *s.policy;
  const auto& p = *ps.current;
  j["files"] = ps.files;
  j["version"] = p.version();
  j["counts"] = {{"workloads", p.workloads().all().size()}, {"services", p.services().all().size()},
                 {"authorizations", p.authorizations().all().size()}, {"routes", p.routes().all().size()}};
  nlohmann::json rel = {{"result", ps.last.result}};
  if (!ps.last.errors.empty()) rel["errors"] = ps.last.errors;
  j["last_reload"] = rel;
  return j;
}

void add_policy_routes(App::State& s) {
  App::State* sp = &s;
  s.admin_routes.add("GET", "/v1/policy", [sp](const admin::Request&) {
    return admin::Response::json(policy_status(*sp).dump(2) + "\n");
  });
  // Live `meshctl policy explain`: the same query as offline, against the running snapshot.
  s.admin_routes.add("POST", "/v1/policy/explain", [sp](const admin::Request& r) {
    auto snap = current_policy(*sp);
    if (!snap) return admin::Response::error(503, "no policy loaded");
    nlohmann::json q = nlohmann::json::parse(r.message.body, nullptr, false);
    if (!q.is_object()) return admin::Response::error(400, "the request body must be a JSON object");
    policy::ExplainQuery query;
    try {
      query.from = q.value("from", "");
      query.to = q.value("to", "");
      query.method = q.value("method", "");
      query.path = q.value("path", "");
      query.gateway = q.value("gateway", "");
      if (auto it = q.find("headers"); it != q.end() && it->is_object()) {
        for (auto h = it->begin(); h != it->end(); ++h) query.headers.emplace_back(h.key(), h.value().get<std::string>());
      }
    } catch (const nlohmann::json::exception& e) {
      return admin::Response::error(400, std::string("malformed query: ") + e.what());
    }
    auto e = policy::explain(*snap, query);
    if (!e) return admin::Response::error(400, e.error().message());
    bool text = r.param("output") == "text";
    return text ? admin::Response::text(policy::to_text(*snap, *e)) : admin::Response::json(policy::to_json(*snap, *e));
  });
}

void add_policy_collectors(App::State& s) {
  const App::State* sp = &s;
  s.registry.add([sp](telemetry::Exposition& e) {
    using telemetry::MetricType;
    if (!sp->policy) return;
    const PolicyState& ps = *sp->policy;
    e.family("meshd_policy_reloads_total", "Policy loads, by result (an invalid set keeps the running one).",
             MetricType::Counter);
    e.sample({{"result", "ok"}}, static_cast<double>(ps.loaded_ok));
    e.sample({{"result", "failed"}}, static_cast<double>(ps.loaded_failed));
    e.family("meshd_policy_last_reload_successful", "0 while the last policy reload failed.", MetricType::Gauge);
    e.sample({}, ps.last.result == "failed" ? 0 : 1);
    e.family("meshd_policy_resources", "Resources in the running policy, by kind.", MetricType::Gauge);
    if (!ps.current) return;
    e.sample({{"kind", "workload"}}, static_cast<double>(ps.current->workloads().all().size()));
    e.sample({{"kind", "service"}}, static_cast<double>(ps.current->services().all().size()));
    e.sample({{"kind", "authorization"}}, static_cast<double>(ps.current->authorizations().all().size()));
    e.sample({{"kind", "route"}}, static_cast<double>(ps.current->routes().all().size()));
  });
}

}  // namespace mesh::app
