#include "daemon/datapath/ebpf_backend.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <set>

#include <fmt/format.h>

#include "daemon/datapath/cgroup_fs.hpp"
#include "ebpf/loader/bpffs.hpp"

namespace mesh::datapath {
namespace {

template <class K>
bool key_eq(const K& a, const K& b) { return std::memcmp(&a, &b, sizeof(K)) == 0; }

mesh_config config_value(const CaptureOptions& o) {
  mesh_config c{};
  c.mark = o.mark;
  c.mark_mask = o.mark_mask;
  const uint8_t hop4[4] = {127, 0, 0, 6};
  std::memcpy(c.hop_src4, hop4, 4);
  c.hop_src6[15] = 1;  // ::1
  c.inbound_port = o.inbound_port;
  c.tunnel_port = o.tunnel_port;
  c.enabled = 1;
  return c;
}

// Makes `map` hold exactly `wanted`: new keys first, then stale ones removed, so a restart
// never opens a window where a configured exclusion is missing.
template <class K>
base::Status sync_keys(const ebpf::TypedMap<K, uint32_t>& map, const std::vector<K>& wanted) {
  for (const auto& k : wanted)
    if (auto st = map.update(k, 1); !st) return st;
  auto have = map.keys(MESH_MAX_EXCL);
  if (!have) return base::fail(std::move(have.error()));
  for (const auto& k : *have) {
    bool keep = std::any_of(wanted.begin(), wanted.end(), [&](const K& w) { return key_eq(w, k); });
    if (!keep)
      if (auto st = map.erase(k); !st) return base::fail(std::move(st.error()));
  }
  return base::ok();
}

base::Result<uint64_t> attach_root(ebpf::CapturePrograms& progs, const CaptureOptions& o) {
  auto mount = find_cgroup2_mount();
  if (!mount) return base::fail(std::move(mount.error()));
  auto path = resolve_cgroup_path(*mount, o.cgroup_root);
  if (!path) return base::fail(std::move(path.error()));
  auto cg = open_cgroup(*path);
  if (!cg) return base::fail(std::move(cg.error()));
  if (auto st = progs.attach_cgroup(cg->fd.get(), cg->id); !st) return base::fail(std::move(st.error()));
  return cg->id;
}

}  // namespace

mesh_ip_key ip_key(const base::IpAddr& ip) {
  mesh_ip_key k{};
  k.family = ip.is_v4() ? MESH_AF_INET : MESH_AF_INET6;
  std::memcpy(k.ip, ip.bytes().data(), ip.is_v4() ? 4 : 16);
  return k;
}

mesh_workload workload_value(const WorkloadRecord& r) {
  mesh_workload w{};
  if (const auto* ip = r.spec.ip4()) {
    w.flags |= MESH_WL_HAS_V4;
    std::memcpy(w.ip4, ip->bytes().data(), 4);
  }
  if (const auto* ip = r.spec.ip6()) {
    w.flags |= MESH_WL_HAS_V6;
    std::memcpy(w.ip6, ip->bytes().data(), 16);
  }
  w.out_port = r.outbound_port;
  return w;
}

std::vector<mesh_port_key> port_keys(const CaptureOptions& o) {
  std::vector<mesh_port_key> out;
  for (uint16_t p : o.exclude_outbound_ports) out.push_back(mesh_port_key{p, MESH_DIR_OUTBOUND, 0});
  for (uint16_t p : o.exclude_inbound_ports) out.push_back(mesh_port_key{p, MESH_DIR_INBOUND, 0});
  return out;
}

std::vector<mesh_cidr_key> cidr_keys(const CaptureOptions& o) {
  std::vector<mesh_cidr_key> out;
  auto add = [&](const base::Cidr& c, uint8_t dir) {
    mesh_cidr_key k{};
    k.prefixlen = 16u + c.prefix_len();
    k.dir = dir;
    k.family = c.base().is_v4() ? MESH_AF_INET : MESH_AF_INET6;
    std::memcpy(k.ip, c.base().bytes().data(), c.base().is_v4() ? 4 : 16);
    out.push_back(k);
  };
  for (const auto& c : o.exclude_outbound_cidrs) add(c, MESH_DIR_OUTBOUND);
  for (const auto& c : o.exclude_inbound_cidrs) add(c, MESH_DIR_INBOUND);
  return out;
}

base::Result<std::unique_ptr<EbpfBackend>> EbpfBackend::create(const CaptureOptions& o) {
  if (o.pin_dir.rfind(o.bpffs + "/", 0) != 0)
    return base::fail(base::Errc::Invalid, fmt::format("pin_dir '{}' is not under bpffs '{}'", o.pin_dir, o.bpffs));
  if (auto st = ebpf::ensure_bpffs(o.bpffs); !st) return base::fail(std::move(st.error()));
  ebpf::install_libbpf_logger();
  auto progs = ebpf::CapturePrograms::load(o.pin_dir);
  if (!progs) return base::fail(std::move(progs.error()));
  const auto& maps = (*progs)->maps();
  if (auto st = sync_keys(maps.excl_port, port_keys(o)); !st) return base::fail(std::move(st.error()).wrap("write excluded ports"));
  if (auto st = sync_keys(maps.excl_cidr, cidr_keys(o)); !st) return base::fail(std::move(st.error()).wrap("write excluded CIDRs"));
  if (auto st = maps.config.update(0, config_value(o)); !st) return base::fail(std::move(st.error()));
  auto cgroup_id = attach_root(**progs, o);
  if (!cgroup_id) return base::fail(std::move(cgroup_id.error()).wrap("attach to the capture cgroup root"));
  return std::unique_ptr<EbpfBackend>(new EbpfBackend(std::move(*progs), *cgroup_id));
}

base::Status EbpfBackend::install(const WorkloadRecord& r, const Netns* netns, const Listeners& l) {
  const auto& maps = programs_->maps();
  mesh_workload value = workload_value(r);
  auto undo = [&](base::Status st) {
    (void)remove(r, netns);
    return st;
  };
  if (r.spec.bare_metal()) {
    if (auto st = maps.cgroups.update(r.cgroup_id, value); !st) return undo(std::move(st));
    return base::ok();
  }
  for (const auto& ip : r.spec.ips) {
    if (auto st = maps.pod_ips.update(ip_key(ip), value); !st) return undo(std::move(st));
    uint64_t fd = static_cast<uint64_t>(l.inbound.get());
    if (auto st = maps.inbound.update(ip_key(ip), fd); !st) return undo(std::move(st));
  }
  if (auto st = programs_->attach_netns(netns->fd(), r.netns_ino); !st) return undo(std::move(st));
  if (auto st = maps.pods.update(r.netns_cookie, value); !st) return undo(std::move(st));
  return base::ok();
}

base::Status EbpfBackend::remove(const WorkloadRecord& r, const Netns*) {
  const auto& maps = programs_->maps();
  base::Status result = base::ok();
  auto keep_first = [&](base::Status st) {
    if (!st && result) result = std::move(st);
  };
  if (r.spec.bare_metal()) {
    auto e = maps.cgroups.erase(r.cgroup_id);
    if (!e) keep_first(base::fail(std::move(e.error())));
    return result;
  }
  if (auto e = maps.pods.erase(r.netns_cookie); !e) keep_first(base::fail(std::move(e.error())));
  for (const auto& ip : r.spec.ips) {
    if (auto e = maps.pod_ips.erase(ip_key(ip)); !e) keep_first(base::fail(std::move(e.error())));
    if (auto e = maps.inbound.erase(ip_key(ip)); !e) keep_first(base::fail(std::move(e.error())));
  }
  keep_first(programs_->detach_netns(r.netns_ino));
  return result;
}

base::Status EbpfBackend::reconcile(const std::vector<WorkloadRecord>& live) {
  std::set<uint64_t> cookies, cgroups, inos;
  std::vector<mesh_ip_key> ips;
  for (const auto& r : live) {
    if (r.spec.bare_metal()) {
      cgroups.insert(r.cgroup_id);
      continue;
    }
    cookies.insert(r.netns_cookie);
    inos.insert(r.netns_ino);
    for (const auto& ip : r.spec.ips) ips.push_back(ip_key(ip));
  }
  const auto& maps = programs_->maps();
  auto drop_u64 = [](const auto& map, const std::set<uint64_t>& keep) -> base::Status {
    auto keys = map.keys(MESH_MAX_WORKLOADS);
    if (!keys) return base::fail(std::move(keys.error()));
    for (uint64_t k : *keys)
      if (!keep.count(k)) (void)map.erase(k);
    return base::ok();
  };
  auto drop_ip = [&](const auto& map) -> base::Status {
    auto keys = map.keys(MESH_MAX_WORKLOADS);
    if (!keys) return base::fail(std::move(keys.error()));
    for (const auto& k : *keys)
      if (std::none_of(ips.begin(), ips.end(), [&](const mesh_ip_key& w) { return key_eq(w, k); }))
        (void)map.erase(k);
    return base::ok();
  };
  if (auto st = drop_u64(maps.pods, cookies); !st) return st;
  if (auto st = drop_u64(maps.cgroups, cgroups); !st) return st;
  if (auto st = drop_ip(maps.pod_ips); !st) return st;
  if (auto st = drop_ip(maps.inbound); !st) return st;
  auto pinned = programs_->pinned_netns();
  if (!pinned) return base::fail(std::move(pinned.error()));
  for (uint64_t ino : *pinned)
    if (!inos.count(ino)) (void)programs_->detach_netns(ino);
  return base::ok();
}

base::Status EbpfBackend::upgrade(const CaptureOptions& o, const std::vector<WorkloadRecord>& live) {
  auto progs = ebpf::CapturePrograms::load(o.pin_dir);
  if (!progs) return base::fail(std::move(progs.error()).wrap("upgrade capture programs"));
  auto cgroup_id = attach_root(**progs, o);
  if (!cgroup_id) return base::fail(std::move(cgroup_id.error()).wrap("upgrade capture programs"));
  for (const auto& r : live) {
    if (r.spec.bare_metal()) continue;
    auto netns = Netns::open(r.spec.netns_path);
    if (!netns || netns->inode() != r.netns_ino) continue;  // gone: garbage collection's job
    if (auto st = (*progs)->attach_netns(netns->fd(), r.netns_ino); !st)
      return base::fail(std::move(st.error()).wrap("upgrade capture programs"));
  }
  retired_.push_back(std::move(programs_));
  programs_ = std::move(*progs);
  return base::ok();
}

base::Status EbpfBackend::uninstall() {
  if (auto st = reconcile({}); !st) return st;
  if (auto st = programs_->detach_cgroup(cgroup_id_); !st) return st;
  return ebpf::remove_pin_tree(programs_->pin_dir());
}

}  // namespace mesh::datapath
