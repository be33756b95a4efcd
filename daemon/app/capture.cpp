// Transparent capture in the daemon: starts the datapath engine, serves each enrolled
// workload's outbound (15001) and inbound (15006) listeners on every worker, enrolls and
// unenrolls through the admin API, upgrades the BPF programs in place on request, and
// removes workloads whose netns disappeared.
#include <fmt/format.h>

#include "daemon/proxy/decide.hpp"
#include "daemon/proxy/mesh_view.hpp"
#include "daemon/app/state.hpp"
#include "daemon/base/log.hpp"
#include "daemon/datapath/capture.hpp"
#include "daemon/io/socket.hpp"

namespace mesh::app {

using nlohmann::json;

struct CaptureState final : private io::Timer::Handler {
  CaptureState(App::State& state) : s(state) {}
  void on_timer(io::Timer&) override;

  App::State& s;
  std::unique_ptr<datapath::Capture> engine;  // null when capture is unavailable
  std::string unavailable;                    // why, when engine is null
  datapath::OrigDstResolver resolver;
  std::map<std::string, WorkloadEntry> workloads;
  uint64_t enrolled_ok = 0, enroll_failed = 0, unenrolled = 0, collected = 0;
  io::Timer gc_timer{this};
};

void CaptureStateDeleter::operator()(CaptureState* p) const { delete p; }

namespace {

datapath::CaptureOptions capture_options(const config::CaptureSettings& c) {
  datapath::CaptureOptions o;
  o.mode = c.mode == "ebpf" ? datapath::CaptureMode::Ebpf
           : c.mode == "nftables" ? datapath::CaptureMode::Nftables : datapath::CaptureMode::Auto;
  o.exclude_outbound_ports = c.exclude_outbound_ports;
  o.exclude_inbound_ports = c.exclude_inbound_ports;
  o.exclude_outbound_cidrs = c.exclude_outbound_cidrs;
  o.exclude_inbound_cidrs = c.exclude_inbound_cidrs;
  o.bpffs = c.bpffs;
  o.pin_dir = c.pin_dir;
  o.state_file = c.state_file;
  o.pending_dir = c.pending_dir;
  o.cgroup_root = c.cgroup_root;
  o.mark = c.mark;
  o.mark_mask = c.mark_mask;
  o.outbound_port = c.outbound_port;
  o.inbound_port = c.inbound_port;
  o.tunnel_port = c.tunnel_port;
  o.nft_command = c.nft_command;
  return o;
}

CapturePorts capture_ports(const config::Settings& s) {
  const auto& c = s.capture;
  return CapturePorts{c.outbound_port, c.inbound_port, c.tunnel_port, s.http.server_first_ports};
}

std::shared_ptr<proxy::DialProfile> workload_profile(const App::State& s, const std::string& name,
                                                       std::shared_ptr<base::Fd> netns, bool hop_to_app) {
  auto p = std::make_shared<proxy::DialProfile>();
  p->name = name;
  p->netns = std::move(netns);
  p->mark = s.settings.capture.mark;
  if (hop_to_app) {
    // The hop to a local application comes from 127.0.0.6 (::1 for IPv6), which capture
    // never steers: no loop, and the app sees a recognisable peer (as with Istio).
    p->source_v4 = base::IpAddr::parse("127.0.0.6").value();
    p->source_v6 = base::IpAddr::parse("::1").value();
  }
  return p;
}

base::Status serve_workload(App::State& s, datapath::Enrolled e, const datapath::WorkloadRecord& rec) {
  CaptureState& cs = *s.capture;
  const auto& spec = rec.spec;
  WorkloadEntry w{spec.name, spec.k8s_namespace, spec.service_account,
                  spec.bare_metal() ? spec.cgroup_path : spec.netns_path, {}, {}, {}, spec.ips};
  for (const auto& ip : spec.ips) w.ips.push_back(ip.to_string());
  if (auto id = tunnel::SpiffeId::workload(s.settings.node.trust_domain, spec.k8s_namespace, spec.service_account)) {
    w.identity = *id;
    if (identity_configured(s)) {
      if (auto st = ensure_identity(s, w.identity); !st) {
        base::log::warn("workload '{}/{}' has no certificate: its connections to meshed workloads will be refused: {}",
                        spec.k8s_namespace, spec.name, st.error().message());
      }
    }
  }
  std::string label = spec.k8s_namespace + "/" + spec.name;
  std::shared_ptr<base::Fd> netns;
  if (!spec.bare_metal()) {
    auto ns = io::socket_netns(e.listeners.outbound.get());
    if (!ns) return base::fail(std::move(ns.error()).wrap(fmt::format("serve workload '{}'", spec.name)));
    netns = std::make_shared<base::Fd>(std::move(*ns));
  }
  const CapturePorts ports = capture_ports(s.settings);
  const LocalWorkload local{w.identity, spec.ips};
  // One of the workload's listeners, shown as "<address> in <where>".
  auto plan = [&](const char* kind, base::Fd fd, const char* upstream, bool inbound) {
    auto addr = io::local_address(fd.get());
    ListenerPlan p;
    p.kind = kind;
    p.name = label;
    p.listen = fmt::format("{} in {}", addr ? addr->to_string() : "?", w.where);
    p.upstream = upstream;
    p.fds.push_back(std::move(fd));
    p.make_profile = [&s, label, netns, inbound] { return workload_profile(s, label, netns, inbound); };
    return p;
  };
  auto install = [&](ListenerPlan p) -> base::Status {
    auto id = install_listener(s, std::move(p));
    if (!id) return base::fail(id.error());
    w.listener_ids.push_back(*id);
    return base::ok();
  };

  ListenerPlan out = plan("outbound", std::move(e.listeners.outbound), "original destination", false);
  out.destination = [resolver = cs.resolver, cookie = e.netns_cookie, ports, local](int fd) {
    auto dst = resolver.outbound(cookie, fd);
    if (!dst) return proxy::FlowTarget::refuse(proxy::RejectReason::NoDestination);
    return decide_outbound(current_view(), local, *dst, ports, thread_random());
  };
  if (auto st = install(std::move(out)); !st) return st;

  if (e.listeners.inbound) {
    ListenerPlan in = plan("inbound", std::move(e.listeners.inbound), "original destination, from 127.0.0.6", true);
    in.destination = [resolver = cs.resolver, ports, local](int fd) {
      auto dst = resolver.inbound(fd);
      if (!dst) return proxy::FlowTarget::refuse(proxy::RejectReason::NoDestination);
      auto client = io::peer_address(fd);
      if (!client) return proxy::FlowTarget::refuse(proxy::RejectReason::NoDestination);
      return decide_inbound_plaintext(current_view(), local, *client, *dst, ports);
    };
    if (auto st = install(std::move(in)); !st) return st;
  }
  if (e.listeners.tunnel) {
    ListenerPlan tun = plan("hbone", std::move(e.listeners.tunnel), "CONNECT authority, from 127.0.0.6", true);
    tun.destination = [](int) { return proxy::FlowTarget::refuse(proxy::RejectReason::NoDestination); };
    auto server = std::make_shared<proxy::TunnelServerSpec>();
    server->tls = [id = w.identity]() -> std::shared_ptr<const tunnel::TlsContext> {
      const auto* ctx = current_view().contexts(id);
      return ctx ? ctx->server : nullptr;
    };
    server->decide = [local, ports](const tunnel::hbone::ConnectRequest& req, const tunnel::SpiffeId& peer,
                                    const base::SocketAddr& remote, const base::SocketAddr& at) {
      return decide_inbound_tunnel(current_view(), local, req, peer, remote, at, ports);
    };
    tun.tunnel_server = std::move(server);
    if (auto st = install(std::move(tun)); !st) return st;
  }
  cs.workloads[spec.name] = std::move(w);
  return base::ok();
}

const datapath::WorkloadRecord* record_of(const CaptureState& cs, std::string_view name,
                                          std::vector<datapath::WorkloadStatus>& cache) {
  cache = cs.engine->workloads();
  for (const auto& st : cache) {
    if (st.record.spec.name == name) return &st.record;
  }
  return nullptr;
}

void drop_workload(App::State& s, const std::string& name) {
  auto& cs = *s.capture;
  auto it = cs.workloads.find(name);
  if (it == cs.workloads.end()) return;
  for (uint64_t id : it->second.listener_ids) remove_listener(s, id, true);
  cs.workloads.erase(it);
}

}  // namespace

void CaptureState::on_timer(io::Timer&) {
  for (const auto& name : engine->collect_garbage()) {
    drop_workload(s, name);  // the engine logged it
    ++collected;
    publish_view(s);
  }
  s.control->schedule_after(gc_timer, s.settings.capture.gc_interval);
}

base::Status start_capture(App::State& s) {
  const auto& cfg = s.settings.capture;
  if (cfg.mode == "off") return base::ok();
  s.capture.reset(new CaptureState(s));
  auto engine = datapath::Capture::create(capture_options(cfg));
  if (!engine) {
    if (cfg.mode != "auto") return base::fail(engine.error());
    s.capture->unavailable = engine.error().message();
    base::log::warn("transparent capture is unavailable, serving relays only: {}", s.capture->unavailable);
    return base::ok();
  }
  CaptureState& cs = *s.capture;
  cs.engine = std::move(*engine);
  cs.resolver = cs.engine->resolver();
  std::vector<datapath::WorkloadStatus> cache;
  for (auto& e : cs.engine->restore()) {
    std::string name = e.name;
    const auto* rec = record_of(cs, name, cache);
    if (rec == nullptr) continue;
    if (auto st = serve_workload(s, std::move(e), *rec); !st) {
      base::log::error("failed to serve restored workload '{}': {}", name, st.error().message());
    }
  }
  s.control->schedule_after(cs.gc_timer, cfg.gc_interval);
  return base::ok();
}

namespace {

int status_for(const base::Error& e) {
  switch (e.code()) {
    case base::Errc::Invalid: return 400;
    case base::Errc::NotFound: return 404;
    case base::Errc::Exists: return 409;
    case base::Errc::Unsupported: return 501;
    default: return 500;
  }
}

base::Result<datapath::WorkloadSpec> spec_from_json(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return base::fail(base::Errc::Invalid, "the request body must be a JSON object");
  datapath::WorkloadSpec spec;
  try {
    spec.name = j.value("name", "");
    spec.k8s_namespace = j.value("namespace", "default");
    spec.service_account = j.value("service_account", "default");
    spec.netns_path = j.value("netns", "");
    spec.cgroup_path = j.value("cgroup", "");
    for (const auto& ip : j.value("ips", json::array())) {
      auto addr = base::IpAddr::parse(ip.get<std::string>());
      if (!addr) return base::fail(addr.error());
      spec.ips.push_back(*addr);
    }
  } catch (const json::exception& e) {
    return base::fail(base::Errc::Invalid, fmt::format("malformed workload: {}", e.what()));
  }
  return spec;
}

json workload_json(const App::State& s, const datapath::WorkloadStatus& st) {
  const auto& spec = st.record.spec;
  json ips = json::array();
  for (const auto& ip : spec.ips) ips.push_back(ip.to_string());
  json j = {{"name", spec.name}, {"namespace", spec.k8s_namespace}, {"service_account", spec.service_account},
            {"ips", ips}, {"mode", datapath::to_string(st.record.mode)}, {"status", st.status}};
  if (spec.bare_metal()) j["cgroup"] = spec.cgroup_path;
  else j["netns"] = spec.netns_path;
  int64_t active = 0;
  uint64_t opened = 0;
  auto it = s.capture->workloads.find(spec.name);
  if (it != s.capture->workloads.end()) {
    for (const auto& l : s.listeners) {
      if (std::find(it->second.listener_ids.begin(), it->second.listener_ids.end(), l.id) == it->second.listener_ids.end()) continue;
      for (const auto& stats : l.stats) {
        active += stats->active.value();
        opened += stats->opened.value();
      }
    }
  } else {
    j["status"] = "not served";
  }
  j["connections"] = {{"active", active}, {"opened", opened}};
  return j;
}

admin::Response unavailable(const App::State& s) {
  if (!s.capture) return admin::Response::error(503, "transparent capture is off (capture.mode = \"off\")");
  return admin::Response::error(503, "transparent capture is unavailable: " + s.capture->unavailable);
}

admin::Response enroll(App::State& s, const admin::Request& req) {
  if (!s.capture || !s.capture->engine) return unavailable(s);
  CaptureState& cs = *s.capture;
  auto spec = spec_from_json(req.message.body);
  if (!spec) return admin::Response::error(400, spec.error().message());
  auto e = cs.engine->enroll(*spec);
  if (!e) {
    ++cs.enroll_failed;  // the engine logged why
    return admin::Response::error(status_for(e.error()), e.error().message());
  }
  std::vector<datapath::WorkloadStatus> cache;
  const auto* rec = record_of(cs, spec->name, cache);
  if (auto st = serve_workload(s, std::move(*e), *rec); !st) {
    base::log::error("failed to serve workload '{}', unenrolling it: {}", spec->name, st.error().message());
    (void)cs.engine->unenroll(spec->name);
    ++cs.enroll_failed;
    return admin::Response::error(500, st.error().message());
  }
  ++cs.enrolled_ok;
  publish_view(s);
  for (const auto& st : cache) {
    if (st.record.spec.name == spec->name) return admin::Response::json(workload_json(s, st).dump(2) + "\n", 201);
  }
  return admin::Response::json("{}\n", 201);
}

admin::Response unenroll(App::State& s, const admin::Request& req) {
  if (!s.capture || !s.capture->engine) return unavailable(s);
  std::string name(req.param("name"));
  if (name.empty()) return admin::Response::error(400, "missing ?name=WORKLOAD");
  if (auto st = s.capture->engine->unenroll(name); !st) return admin::Response::error(status_for(st.error()), st.error().message());
  drop_workload(s, name);
  ++s.capture->unenrolled;
  publish_view(s);
  return admin::Response::json(json({{"unenrolled", name}}).dump() + "\n");
}

// Loads the capture programs again and swaps them into the pinned links (eBPF mode): same
// link ids, new program ids; listeners and established connections are untouched.
admin::Response upgrade(App::State& s) {
  if (!s.capture || !s.capture->engine) return unavailable(s);
  if (auto st = s.capture->engine->upgrade(); !st) {
    base::log::warn("failed to upgrade the capture programs: {}", st.error().message());
    return admin::Response::error(status_for(st.error()), st.error().message());
  }
  base::log::info("capture programs upgraded in place");
  return admin::Response::json(json({{"upgraded", true}, {"mode", datapath::to_string(s.capture->engine->mode().mode)}}).dump() + "\n");
}

}  // namespace

void add_capture_routes(App::State& s) {
  App::State* sp = &s;
  s.admin_routes.add("GET", "/v1/workloads", [sp](const admin::Request&) {
    if (!sp->capture || !sp->capture->engine) return unavailable(*sp);
    json out = json::array();
    for (const auto& st : sp->capture->engine->workloads()) out.push_back(workload_json(*sp, st));
    return admin::Response::json(out.dump(2) + "\n");
  });
  s.admin_routes.add("POST", "/v1/workloads", [sp](const admin::Request& r) { return enroll(*sp, r); });
  s.admin_routes.add("DELETE", "/v1/workloads", [sp](const admin::Request& r) { return unenroll(*sp, r); });
  s.admin_routes.add("POST", "/v1/capture/upgrade", [sp](const admin::Request&) { return upgrade(*sp); });
}

void add_capture_peers(const App::State& s, MeshView& view) {
  // Without any identity configured there is no mTLS on this node: workloads talk plaintext
  // (capture and relaying only), which is what an empty [identity] means.
  if (!s.capture || !identity_configured(s)) return;
  for (const auto& [name, w] : s.capture->workloads) {
    if (w.identity.str().empty()) continue;
    for (const auto& ip : w.addresses) view.peers[ip] = MeshPeer{w.identity, true};
  }
}

json capture_status(const App::State& s) {
  if (!s.capture) return {{"mode", "off"}, {"reason", "capture.mode = \"off\""}};
  if (!s.capture->engine) return {{"mode", "unavailable"}, {"reason", s.capture->unavailable}};
  const auto& m = s.capture->engine->mode();
  return {{"mode", datapath::to_string(m.mode)}, {"reason", m.reason}, {"workloads", s.capture->workloads.size()}};
}

void add_capture_collectors(App::State& s) {
  const App::State* sp = &s;
  s.registry.add([sp](telemetry::Exposition& e) {
    using telemetry::MetricType;
    json st = capture_status(*sp);
    e.family("meshd_capture_mode", "Transparent capture mode in use (1 for the active one).", MetricType::Gauge);
    e.sample({{"mode", st["mode"].get<std::string>()}}, 1);
    if (!sp->capture || !sp->capture->engine) return;
    const CaptureState& cs = *sp->capture;
    e.family("meshd_workloads", "Workloads enrolled for capture on this node.", MetricType::Gauge);
    e.sample({}, static_cast<double>(cs.workloads.size()));
    e.family("meshd_enrollments_total", "Enrollment requests, by result.", MetricType::Counter);
    e.sample({{"result", "ok"}}, static_cast<double>(cs.enrolled_ok));
    e.sample({{"result", "failed"}}, static_cast<double>(cs.enroll_failed));
    e.family("meshd_unenrollments_total", "Workloads removed, by cause.", MetricType::Counter);
    e.sample({{"cause", "request"}}, static_cast<double>(cs.unenrolled));
    e.sample({{"cause", "netns_gone"}}, static_cast<double>(cs.collected));
    e.family("meshd_capture_events_total", "Decisions of the capture programs in the kernel, by event.", MetricType::Counter);
    auto counters = cs.engine->counters();
    for (size_t i = 0; i < ebpf::kStatCount; ++i) e.sample({{"event", ebpf::kStatNames[i]}}, static_cast<double>(counters.bpf[i]));
  });
}

}  // namespace mesh::app
