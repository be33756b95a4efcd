#include "daemon/datapath/capture.hpp"

#include <unistd.h>

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "daemon/base/log.hpp"
#include "daemon/datapath/cgroup_fs.hpp"
#include "daemon/datapath/ebpf_backend.hpp"
#include "daemon/datapath/nft_backend.hpp"
#include "daemon/datapath/state_file.hpp"
#include "ebpf/loader/bpffs.hpp"

namespace mesh::datapath {
namespace {

base::Error wrap_enroll(base::Error err, const std::string& name) {
  return std::move(err).wrap(fmt::format("enroll '{}'", name));
}

}  // namespace

Capture::Capture(CaptureOptions options, ModeDecision mode, ebpf::ProbeReport probe,
                 std::unique_ptr<CaptureBackend> backend, EbpfBackend* ebpf)
    : options_(std::move(options)), mode_(std::move(mode)), probe_(std::move(probe)),
      backend_(std::move(backend)), ebpf_(ebpf) {}

Capture::~Capture() = default;

base::Result<std::unique_ptr<Capture>> Capture::create(CaptureOptions o) {
  auto records = load_state(o.state_file);
  if (!records) return base::fail(std::move(records.error()).wrap("start capture"));
  ebpf::ProbeReport probe;
  ModeDecision mode;
  std::unique_ptr<CaptureBackend> backend;
  EbpfBackend* ebpf = nullptr;
  if (o.mode == CaptureMode::Nftables) {
    mode = {CaptureMode::Nftables, "forced by config (mode = nftables)"};
  } else {
    probe = ebpf::probe_capture_features();
    base::Result<std::unique_ptr<EbpfBackend>> eb =
        probe.all_ok() ? EbpfBackend::create(o)
                       : base::fail(base::Errc::Unsupported, "eBPF probe: " + probe.missing());
    if (eb) {
      ebpf = eb->get();
      backend = std::move(*eb);
      mode = {CaptureMode::Ebpf, o.mode == CaptureMode::Ebpf ? "forced by config (mode = ebpf)"
                                                             : "auto: every eBPF feature probed and loaded"};
    } else if (o.mode == CaptureMode::Ebpf) {
      return base::fail(std::move(eb.error()).wrap("start eBPF capture (mode = ebpf)"));
    } else {
      mode = {CaptureMode::Nftables, "auto: eBPF unavailable: " + eb.error().message()};
      base::log::warn("failed to start eBPF capture, using nftables: {}", eb.error().message());
    }
  }
  if (!backend) {
    backend = std::make_unique<NftBackend>(o);
    // Pins of an earlier eBPF run would keep capturing outbound connects whose original
    // destination nftables mode cannot look up: switching modes removes them.
    if (ebpf::is_bpffs(o.bpffs) && ::access(o.pin_dir.c_str(), F_OK) == 0) {
      base::log::warn("removing eBPF capture pins in '{}': capture mode is nftables", o.pin_dir);
      if (auto st = ebpf::remove_pin_tree(o.pin_dir); !st)
        base::log::error("failed to remove eBPF capture pins: {}", st.error().message());
    }
  }
  base::log::info("capture mode {}: {}", to_string(mode.mode), mode.reason);
  std::unique_ptr<Capture> c(new Capture(std::move(o), std::move(mode), std::move(probe),
                                         std::move(backend), ebpf));
  c->records_ = std::move(*records);
  return c;
}

base::Status Capture::stage(std::string_view name) const {
  return options_.stage_hook ? options_.stage_hook(name) : base::ok();
}

base::Status Capture::save() const { return save_state(options_.state_file, records_); }

base::Status Capture::check_unique(const WorkloadSpec& spec) const {
  for (const auto& r : records_) {
    if (r.spec.name == spec.name)
      return base::fail(base::Errc::Exists, fmt::format("workload '{}' is already enrolled", spec.name));
    for (const auto& ip : spec.ips)
      if (std::find(r.spec.ips.begin(), r.spec.ips.end(), ip) != r.spec.ips.end())
        return base::fail(base::Errc::Exists,
                          fmt::format("address {} is already enrolled as '{}'", ip.to_string(), r.spec.name));
  }
  return base::ok();
}

base::Result<Enrolled> Capture::enroll(const WorkloadSpec& spec) {
  std::lock_guard lock(mu_);
  base::Result<Enrolled> out = [&]() -> base::Result<Enrolled> {
    if (auto st = validate(spec); !st) return base::fail(std::move(st.error()));
    if (auto st = check_unique(spec); !st) return base::fail(std::move(st.error()));
    return spec.bare_metal() ? enroll_cgroup(spec) : enroll_pod(spec);
  }();
  if (!out) {
    ++counters_.enroll_failed;
    base::log::warn("failed to enroll workload '{}': {}", spec.name, out.error().message());
    return base::fail(wrap_enroll(std::move(out.error()), spec.name));
  }
  ++counters_.enrolled;
  base::log::info("enrolled workload '{}' ({})", spec.name, to_string(mode_.mode));
  return out;
}

base::Result<Enrolled> Capture::enroll_pod(const WorkloadSpec& spec) {
  auto netns = Netns::open(spec.netns_path);
  if (!netns) return base::fail(std::move(netns.error()));
  for (const auto& r : records_)
    if (!r.spec.bare_metal() && r.netns_ino == netns->inode())
      return base::fail(base::Errc::Exists, fmt::format("netns '{}' is already enrolled as '{}'",
                                                        spec.netns_path, r.spec.name));
  WorkloadRecord rec{spec, mode_.mode, netns->inode(), 0, 0, options_.outbound_port};
  auto cookie = netns->cookie();
  if (!cookie) return base::fail(std::move(cookie.error()));
  rec.netns_cookie = *cookie;
  base::Result<Listeners> listeners = [&]() -> base::Result<Listeners> {
    auto scope = NetnsScope::enter(*netns);
    if (!scope) return base::fail(std::move(scope.error()));
    return create_pod_listeners({options_.outbound_port, options_.inbound_port, options_.tunnel_port});
  }();
  if (!listeners) return base::fail(std::move(listeners.error()));
  if (auto st = stage("listeners"); !st) return base::fail(std::move(st.error()));
  return commit(std::move(rec), &*netns, std::move(*listeners));
}

base::Result<Enrolled> Capture::enroll_cgroup(const WorkloadSpec& spec) {
  if (mode_.mode != CaptureMode::Ebpf)
    return base::fail(base::Errc::Unsupported, "bare-metal (cgroup) enrollment needs eBPF capture, mode is " +
                                                   std::string(to_string(mode_.mode)));
  auto mount = find_cgroup2_mount();
  if (!mount) return base::fail(std::move(mount.error()));
  auto root = resolve_cgroup_path(*mount, options_.cgroup_root);
  auto path = resolve_cgroup_path(*mount, spec.cgroup_path);
  if (!root || !path) return base::fail(std::move((!root ? root : path).error()));
  if (*path != *root && path->rfind(*root + "/", 0) != 0)
    return base::fail(base::Errc::Invalid, fmt::format("cgroup '{}' is not under the capture root '{}'", *path, *root));
  auto cg = open_cgroup(*path);
  if (!cg) return base::fail(std::move(cg.error()));
  for (const auto& r : records_)
    if (r.spec.bare_metal() && r.cgroup_id == cg->id)
      return base::fail(base::Errc::Exists, fmt::format("cgroup '{}' is already enrolled as '{}'", *path, r.spec.name));
  auto own = Netns::current();
  if (!own) return base::fail(std::move(own.error()));
  auto cookie = own->cookie();
  if (!cookie) return base::fail(std::move(cookie.error()));
  Listeners l;
  auto out = create_loopback_listener();
  if (!out) return base::fail(std::move(out.error()));
  l.outbound = std::move(*out);
  auto port = local_port(l.outbound.get());
  if (!port) return base::fail(std::move(port.error()));
  WorkloadRecord rec{spec, mode_.mode, 0, *cookie, cg->id, *port};
  if (auto st = stage("listeners"); !st) return base::fail(std::move(st.error()));
  return commit(std::move(rec), nullptr, std::move(l));
}

// Installs, re-checks that the netns is still the one we enrolled, records. All or nothing.
base::Result<Enrolled> Capture::commit(WorkloadRecord rec, const Netns* netns, Listeners listeners) {
  if (auto st = backend_->install(rec, netns, listeners); !st) return base::fail(std::move(st.error()));
  auto undo = [&](base::Error err) -> base::Result<Enrolled> {
    if (auto st = backend_->remove(rec, netns); !st)
      base::log::error("failed to roll back workload '{}': {}", rec.spec.name, st.error().message());
    return base::fail(std::move(err));
  };
  if (auto st = stage("installed"); !st) return undo(std::move(st.error()));
  if (!alive(rec))
    return undo(base::Error(base::Errc::NotFound, fmt::format("netns '{}' vanished during enrollment",
                                                              rec.spec.netns_path)));
  records_.push_back(rec);
  if (auto st = save(); !st) {
    records_.pop_back();
    return undo(std::move(st.error()));
  }
  return Enrolled{rec.spec.name, rec.netns_cookie, std::move(listeners)};
}

bool Capture::alive(const WorkloadRecord& r) const {
  if (!r.spec.bare_metal()) return netns_inode_at(r.spec.netns_path) == r.netns_ino;
  auto mount = find_cgroup2_mount();
  if (!mount) return false;
  auto path = resolve_cgroup_path(*mount, r.spec.cgroup_path);
  if (!path) return false;
  auto cg = open_cgroup(*path);
  return cg && cg->id == r.cgroup_id;
}

base::Status Capture::unenroll(std::string_view name) {
  std::lock_guard lock(mu_);
  auto it = std::find_if(records_.begin(), records_.end(), [&](const auto& r) { return r.spec.name == name; });
  if (it == records_.end())
    return base::fail(base::Errc::NotFound, fmt::format("unenroll '{}': no such workload", name));
  WorkloadRecord rec = *it;
  auto netns = rec.spec.bare_metal() ? base::Result<Netns>(base::fail(base::Errc::NotFound, ""))
                                     : Netns::open(rec.spec.netns_path);
  bool same = netns && netns->inode() == rec.netns_ino;
  base::Status removed = backend_->remove(rec, same ? &*netns : nullptr);
  records_.erase(it);
  ++counters_.unenrolled;
  base::Status saved = save();
  if (!removed) return base::fail(std::move(removed.error()).wrap(fmt::format("unenroll '{}'", name)));
  if (!saved) return base::fail(std::move(saved.error()).wrap(fmt::format("unenroll '{}'", name)));
  base::log::info("unenrolled workload '{}'", name);
  return base::ok();
}

// Re-installs a recorded workload with fresh listeners (the previous daemon's are gone).
base::Result<Enrolled> Capture::reinstall(const WorkloadRecord& old) {
  WorkloadRecord rec = old;
  rec.mode = mode_.mode;
  Listeners l;
  std::optional<Netns> netns;
  if (rec.spec.bare_metal()) {
    auto out = create_loopback_listener();
    if (!out) return base::fail(std::move(out.error()));
    l.outbound = std::move(*out);
    auto port = local_port(l.outbound.get());
    if (!port) return base::fail(std::move(port.error()));
    rec.outbound_port = *port;
  } else {
    auto ns = Netns::open(rec.spec.netns_path);
    if (!ns) return base::fail(std::move(ns.error()));
    netns.emplace(std::move(*ns));
    auto scope = NetnsScope::enter(*netns);
    if (!scope) return base::fail(std::move(scope.error()));
    auto made = create_pod_listeners({options_.outbound_port, options_.inbound_port, options_.tunnel_port});
    if (!made) return base::fail(std::move(made.error()));
    l = std::move(*made);
  }
  if (old.mode == CaptureMode::Nftables && mode_.mode == CaptureMode::Ebpf && netns)
    (void)NftBackend(options_).remove(old, &*netns);  // switched modes across the restart
  if (auto st = backend_->install(rec, netns ? &*netns : nullptr, l); !st) return base::fail(std::move(st.error()));
  records_.push_back(rec);
  return Enrolled{rec.spec.name, rec.netns_cookie, std::move(l)};
}

std::vector<Enrolled> Capture::restore() {
  std::vector<Enrolled> out;
  {
    std::lock_guard lock(mu_);
    std::vector<WorkloadRecord> old = std::move(records_);
    records_.clear();
    for (const auto& rec : old) {
      if (!alive(rec)) {
        base::log::info("dropping workload '{}': its netns or cgroup is gone", rec.spec.name);
        (void)backend_->remove(rec, nullptr);
        ++counters_.collected;
        continue;
      }
      auto e = reinstall(rec);
      if (!e) {
        base::log::error("failed to restore workload '{}': {}", rec.spec.name, e.error().message());
        ++counters_.enroll_failed;
        continue;
      }
      ++counters_.enrolled;
      out.push_back(std::move(*e));
    }
    if (ebpf_ != nullptr)
      if (auto st = ebpf_->reconcile(records_); !st)
        base::log::error("failed to reconcile pinned capture state: {}", st.error().message());
    if (auto st = save(); !st) base::log::error("failed to save workload state: {}", st.error().message());
  }
  for (auto& pending : read_pending(options_.pending_dir)) {
    ::unlink(pending.file.c_str());
    if (!pending.spec) {
      base::log::error("failed to read pending enrollment: {}", pending.spec.error().message());
      continue;
    }
    auto e = enroll(*pending.spec);
    if (e) out.push_back(std::move(*e));
  }
  return out;
}

std::vector<std::string> Capture::collect_garbage() {
  std::lock_guard lock(mu_);
  std::vector<std::string> gone;
  for (auto it = records_.begin(); it != records_.end();) {
    if (alive(*it)) {
      ++it;
      continue;
    }
    (void)backend_->remove(*it, nullptr);
    base::log::info("collected workload '{}': its netns or cgroup is gone", it->spec.name);
    gone.push_back(it->spec.name);
    ++counters_.collected;
    it = records_.erase(it);
  }
  if (!gone.empty())
    if (auto st = save(); !st) base::log::error("failed to save workload state: {}", st.error().message());
  return gone;
}

base::Status Capture::upgrade() {
  std::lock_guard lock(mu_);
  if (ebpf_ == nullptr) {
    return base::fail(base::Errc::Unsupported, "capture mode is nftables, not eBPF: there are no programs to upgrade");
  }
  return ebpf_->upgrade(options_, records_);
}

base::Status Capture::uninstall() {
  std::lock_guard lock(mu_);
  for (const auto& rec : records_) {
    std::optional<Netns> netns;
    if (!rec.spec.bare_metal())
      if (auto ns = Netns::open(rec.spec.netns_path); ns && ns->inode() == rec.netns_ino) netns.emplace(std::move(*ns));
    (void)backend_->remove(rec, netns ? &*netns : nullptr);
  }
  records_.clear();
  if (auto st = save(); !st) return st;
  return ebpf_ != nullptr ? ebpf_->uninstall() : base::ok();
}

std::vector<WorkloadStatus> Capture::workloads() const {
  std::lock_guard lock(mu_);
  std::vector<WorkloadStatus> out;
  for (const auto& r : records_)
    out.push_back({r, alive(r) ? "captured" : r.spec.bare_metal() ? "cgroup gone" : "netns gone"});
  return out;
}

OrigDstResolver Capture::resolver() const {
  if (ebpf_ == nullptr) return OrigDstResolver(CaptureMode::Nftables, {});
  return OrigDstResolver(CaptureMode::Ebpf, ebpf_->programs().maps().orig_tup);
}

CaptureCounters Capture::counters() const {
  std::lock_guard lock(mu_);
  CaptureCounters c = counters_;
  if (ebpf_ != nullptr) {
    if (auto s = ebpf_->programs().stats()) c.bpf = *s;
  }
  return c;
}

}  // namespace mesh::datapath
