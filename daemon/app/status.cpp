// The admin API: /v1/status (what `meshctl status` shows), /v1/version, /v1/reload, and the
// readiness and metrics endpoints on their own ports.
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "daemon/app/state.hpp"
#include "daemon/base/strings.hpp"
#include "daemon/base/version.hpp"

namespace mesh::app {
namespace {

using nlohmann::json;

std::string iso8601(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm;
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json reload_json(const ReloadRecord& r) {
  json j = {{"result", r.result}};
  if (r.result != "none") j["time"] = iso8601(r.time);
  if (!r.errors.empty()) j["errors"] = r.errors;
  if (!r.restart_needed.empty()) j["restart_needed"] = r.restart_needed;
  return j;
}

json version_json() {
  return {{"version", base::kVersion}, {"revision", base::kRevision}};
}

json connections_json(const App::State& s) {
  uint64_t opened = 0, closed = 0, rejected = 0;
  for (const auto& l : s.listeners) {
    for (const auto& st : l.stats) {
      opened += st->opened.value();
      for (const auto& c : st->closed) closed += c.value();
      for (const auto& r : st->rejected) rejected += r.value();
    }
  }
  return {{"active", s.budget->active()}, {"limit", s.budget->limit()}, {"opened", opened},
          {"closed", closed}, {"rejected", rejected}};
}

json listeners_json(const App::State& s) {
  json out = json::array();
  for (const auto& l : s.listeners) {
    int64_t active = 0;
    uint64_t opened = 0;
    for (const auto& st : l.stats) {
      active += st->active.value();
      opened += st->opened.value();
    }
    out.push_back({{"name", l.name}, {"kind", l.kind}, {"listen", l.listen}, {"upstream", l.upstream},
                   {"active", active}, {"opened", opened}});
  }
  return out;
}

}  // namespace

std::string status_json(const App::State& s) {
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - s.started_at);
  json admin = {{"socket", s.settings.admin.socket_path}};
  admin["metrics"] = s.metrics_addr ? json(s.metrics_addr->to_string()) : json(nullptr);
  admin["readiness"] = s.readiness_addr ? json(s.readiness_addr->to_string()) : json(nullptr);
  json j = version_json();
  j["node"] = s.settings.node.name;
  j["trust_domain"] = s.settings.node.trust_domain;
  j["pid"] = ::getpid();
  j["state"] = s.draining ? "draining" : (s.ready ? "serving" : "starting");
  j["started_at"] = iso8601(s.started_at);
  j["uptime_seconds"] = uptime.count();
  j["workers"] = s.workers.size();
  j["io_uring"] = {{"kernel", s.options.io_uring.kernel}, {"notes", s.options.io_uring.notes}};
  j["listeners"] = listeners_json(s);
  j["capture"] = capture_status(s);
  j["identities"] = identity_status(s);
  j["policy"] = policy_status(s);
  j["admin"] = admin;
  j["config"] = {{"source", s.settings.source.empty() ? "(built-in defaults)" : s.settings.source},
                 {"last_reload", reload_json(s.last_reload)}};
  j["connections"] = connections_json(s);
  return j.dump(2) + "\n";
}

void add_admin_routes(App::State& s) {
  App::State* sp = &s;
  auto ready = [sp](const admin::Request&) {
    if (sp->ready) return admin::Response::text("ready\n");
    return admin::Response::text(sp->draining ? "draining\n" : "starting\n", 503);
  };
  auto metrics = [sp](const admin::Request&) {
    admin::Response r = admin::Response::text(sp->registry.scrape());
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  };
  s.admin_routes.add("GET", "/v1/status", [sp](const admin::Request&) { return admin::Response::json(status_json(*sp)); });
  s.admin_routes.add("GET", "/v1/version", [](const admin::Request&) { return admin::Response::json(version_json().dump() + "\n"); });
  s.admin_routes.add("POST", "/v1/reload", [sp](const admin::Request&) {
    ReloadRecord settings = reload_settings(*sp);
    ReloadRecord policy = reload_policy(*sp);
    json body = {{"settings", reload_json(settings)}, {"policy", reload_json(policy)}};
    bool ok = settings.result == "ok" && policy.result == "ok";
    return admin::Response::json(body.dump(2) + "\n", ok ? 200 : 422);
  });
  s.admin_routes.add("GET", "/healthz/ready", ready);
  s.admin_routes.add("GET", "/metrics", metrics);
  s.metrics_routes.add("GET", "/metrics", metrics);
  s.metrics_routes.add("GET", "/stats/prometheus", metrics);
  s.readiness_routes.add("GET", "/healthz/ready", ready);
  add_capture_routes(s);
  add_policy_routes(s);
}

}  // namespace mesh::app
