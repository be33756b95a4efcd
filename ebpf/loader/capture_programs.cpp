#include "ebpf/loader/capture_programs.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <functional>

#include <fmt/format.h>

#include "daemon/base/log.hpp"
#include "ebpf/loader/bpffs.hpp"
#include "ebpf/loader/mesh_capture.skel.h"
#include "ebpf/loader/skeleton.hpp"

namespace mesh::ebpf {
namespace {

struct CaptureOps {
  static mesh_capture* open(const bpf_object_open_opts* o) { return mesh_capture__open_opts(o); }
  static int load(mesh_capture* s) { return mesh_capture__load(s); }
  static void destroy(mesh_capture* s) { mesh_capture__destroy(s); }
};
using CaptureSkeleton = Skeleton<mesh_capture, CaptureOps>;

template <class K, class V>
TypedMap<K, V> typed(bpf_map* m) {
  return TypedMap<K, V>(bpf_map__fd(m), bpf_map__name(m));
}

// Releases our handle on a pinned link without detaching it (the pin keeps it attached).
void release_pinned(bpf_link* link) {
  bpf_link__disconnect(link);
  bpf_link__destroy(link);
}

// Makes `path` a pinned link running `prog`: an existing pin gets the program swapped in
// atomically; a missing or defunct one is (re)created with `attach`.
base::Status ensure_link(bpf_program* prog, const std::string& path,
                         const std::function<bpf_link*()>& attach) {
  bpf_link* old = ::access(path.c_str(), F_OK) == 0 ? bpf_link__open(path.c_str()) : nullptr;
  if (old != nullptr) {
    int err = bpf_link__update_program(old, prog);
    release_pinned(old);
    if (err == 0) return base::ok();
    base::log::warn("replacing defunct pinned link '{}': {}", path, std::strerror(-err));
    ::unlink(path.c_str());
  }
  bpf_link* link = attach();
  if (link == nullptr)
    return base::fail_errno(fmt::format("attach {}", bpf_program__name(prog)), errno);
  int err = bpf_link__pin(link, path.c_str());
  if (err != 0) {
    bpf_link__destroy(link);  // not pinned: this detaches it again
    return base::fail_errno("pin link '" + path + "'", -err);
  }
  release_pinned(link);
  return base::ok();
}

base::Status unpin(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return base::fail_errno("unpin link '" + path + "'", errno);
  return base::ok();
}

int libbpf_print(libbpf_print_level level, const char* format, va_list args) {
  char buf[1024];
  int n = std::vsnprintf(buf, sizeof(buf), format, args);
  std::string_view line(buf, n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1));
  while (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (level == LIBBPF_WARN)
    base::log::warn("libbpf: {}", line);
  else
    base::log::debug("libbpf: {}", line);
  return n;
}

}  // namespace

struct CapturePrograms::Impl {
  explicit Impl(CaptureSkeleton s) : skel(std::move(s)) {}
  CaptureSkeleton skel;
};

CapturePrograms::CapturePrograms(std::unique_ptr<Impl> impl, std::string pin_dir)
    : impl_(std::move(impl)), pin_dir_(std::move(pin_dir)) {
  auto& m = impl_->skel->maps;
  maps_.pods = typed<uint64_t, mesh_workload>(m.mesh_pods);
  maps_.cgroups = typed<uint64_t, mesh_workload>(m.mesh_cgroups);
  maps_.pod_ips = typed<mesh_ip_key, mesh_workload>(m.mesh_pod_ips);
  maps_.inbound = typed<mesh_ip_key, uint64_t>(m.mesh_inbound);
  maps_.orig_ck = typed<uint64_t, mesh_orig>(m.mesh_orig_ck);
  maps_.orig_tup = typed<mesh_tuple_key, mesh_orig>(m.mesh_orig_tup);
  maps_.excl_port = typed<mesh_port_key, uint32_t>(m.mesh_excl_port);
  maps_.excl_cidr = typed<mesh_cidr_key, uint32_t>(m.mesh_excl_cidr);
  maps_.config = typed<uint32_t, mesh_config>(m.mesh_config);
  maps_.stats_fd = bpf_map__fd(m.mesh_stats);
}

CapturePrograms::~CapturePrograms() = default;

base::Result<std::unique_ptr<CapturePrograms>> CapturePrograms::load(const std::string& pin_dir) {
  std::string maps_dir = pin_dir + "/maps";
  if (auto st = make_dirs(maps_dir); !st) return base::fail(std::move(st.error()).wrap("load capture programs"));
  if (auto st = make_dirs(pin_dir + "/links"); !st) return base::fail(std::move(st.error()).wrap("load capture programs"));
  // Filled by hand rather than with LIBBPF_OPTS, whose statement expression is not C++.
  bpf_object_open_opts opts{};
  opts.sz = sizeof(opts);
  opts.pin_root_path = maps_dir.c_str();
  auto skel = CaptureSkeleton::open(&opts);
  if (!skel) return base::fail(std::move(skel.error()).wrap("load capture programs"));
  if (auto st = skel->load(); !st) return base::fail(std::move(st.error()).wrap("load capture programs"));
  auto impl = std::make_unique<Impl>(std::move(*skel));
  return std::unique_ptr<CapturePrograms>(new CapturePrograms(std::move(impl), pin_dir));
}

base::Status CapturePrograms::attach_cgroup(int cgroup_fd, uint64_t cgroup_id) {
  auto& p = impl_->skel->progs;
  bpf_program* progs[] = {p.mesh_connect4, p.mesh_connect6, p.mesh_getpeername4,
                          p.mesh_getpeername6, p.mesh_sockops};
  for (bpf_program* prog : progs) {
    std::string path = fmt::format("{}/links/cg{}_{}", pin_dir_, cgroup_id, bpf_program__name(prog));
    auto st = ensure_link(prog, path, [&] { return bpf_program__attach_cgroup(prog, cgroup_fd); });
    if (!st) return st;
  }
  return base::ok();
}

base::Status CapturePrograms::detach_cgroup(uint64_t cgroup_id) {
  auto& p = impl_->skel->progs;
  bpf_program* progs[] = {p.mesh_connect4, p.mesh_connect6, p.mesh_getpeername4,
                          p.mesh_getpeername6, p.mesh_sockops};
  base::Status result = base::ok();
  for (bpf_program* prog : progs) {
    auto st = unpin(fmt::format("{}/links/cg{}_{}", pin_dir_, cgroup_id, bpf_program__name(prog)));
    if (!st && result) result = st;
  }
  return result;
}

base::Status CapturePrograms::attach_netns(int netns_fd, uint64_t netns_ino) {
  bpf_program* prog = impl_->skel->progs.mesh_sk_lookup;
  std::string path = fmt::format("{}/links/ns{}_sk_lookup", pin_dir_, netns_ino);
  return ensure_link(prog, path, [&] { return bpf_program__attach_netns(prog, netns_fd); });
}

base::Status CapturePrograms::detach_netns(uint64_t netns_ino) {
  return unpin(fmt::format("{}/links/ns{}_sk_lookup", pin_dir_, netns_ino));
}

base::Result<std::vector<PinnedLink>> CapturePrograms::pinned_links() const {
  std::string dir = pin_dir_ + "/links";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return base::fail_errno("open '" + dir + "'", errno);
  std::vector<PinnedLink> out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    PinnedLink link{name, 0, 0};
    int fd = bpf_obj_get((dir + "/" + name).c_str());
    if (fd >= 0) {
      bpf_link_info info{};
      uint32_t len = sizeof(info);
      if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
        link.link_id = info.id;
        link.prog_id = info.prog_id;
      }
      ::close(fd);
    }
    out.push_back(std::move(link));
  }
  ::closedir(d);
  return out;
}

base::Result<std::vector<uint64_t>> CapturePrograms::pinned_netns() const {
  auto links = pinned_links();
  if (!links) return base::fail(std::move(links.error()));
  std::vector<uint64_t> out;
  for (const auto& l : *links) {
    unsigned long long ino = 0;
    char tail[32] = {};
    if (std::sscanf(l.name.c_str(), "ns%llu_%31s", &ino, tail) == 2 && std::string(tail) == "sk_lookup")
      out.push_back(ino);
  }
  return out;
}

base::Result<std::array<uint64_t, kStatCount>> CapturePrograms::stats() const {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return base::fail_errno("count possible CPUs", -cpus);
  std::array<uint64_t, kStatCount> out{};
  std::vector<uint64_t> per_cpu(static_cast<size_t>(cpus));
  for (uint32_t i = 0; i < kStatCount; ++i) {
    if (bpf_map_lookup_elem(maps_.stats_fd, &i, per_cpu.data()) != 0)
      return base::fail_errno("read map 'mesh_stats'", errno);
    for (uint64_t v : per_cpu) out[i] += v;
  }
  return out;
}

void install_libbpf_logger() { libbpf_set_print(libbpf_print); }

}  // namespace mesh::ebpf
