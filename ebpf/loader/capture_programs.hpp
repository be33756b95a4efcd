#pragma once
// CapturePrograms owns the loaded capture programs (one linked object, skeleton mesh_capture)
// and manages their pinned state under a versioned directory on bpffs:
//   <pin_dir>/maps/mesh_*                        every map, pinned by name and reused on load
//   <pin_dir>/links/cg<cgroup id>_<program>      cgroup links (connect4/6, getpeername4/6, sockops)
//   <pin_dir>/links/ns<netns inode>_sk_lookup    one sk_lookup link per enrolled pod netns
// Links are pinned and disconnected, so they outlive the process (fail-closed restarts);
// attaching where a pinned link already exists replaces its program atomically
// (bpf_link__update_program): that is the upgrade path, with no window without capture.
// Not thread-safe: one control thread calls it; the map accessors it hands out are.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "daemon/base/result.hpp"
#include "ebpf/loader/abi.hpp"
#include "ebpf/loader/typed_map.hpp"

namespace mesh::ebpf {

struct CaptureMaps {
  TypedMap<uint64_t, mesh_workload> pods;       // netns cookie → workload
  TypedMap<uint64_t, mesh_workload> cgroups;    // cgroup id → workload (bare metal)
  TypedMap<mesh_ip_key, mesh_workload> pod_ips;  // address → workload
  TypedMap<mesh_ip_key, uint64_t> inbound;      // address → inbound listener (SOCKHASH; value: fd)
  TypedMap<uint64_t, mesh_orig> orig_ck;        // socket cookie → original destination
  TypedMap<mesh_tuple_key, mesh_orig> orig_tup;  // (netns cookie, client) → original destination
  TypedMap<mesh_port_key, uint32_t> excl_port;
  TypedMap<mesh_cidr_key, uint32_t> excl_cidr;
  TypedMap<uint32_t, mesh_config> config;
  int stats_fd = -1;  // PERCPU_ARRAY of u64, indexed by mesh_stat
};

struct PinnedLink {
  std::string name;  // file name under <pin_dir>/links
  uint32_t link_id = 0;
  uint32_t prog_id = 0;
};

class CapturePrograms {
 public:
  // Opens and loads (verifies) the programs, creating the maps or reusing those pinned under
  // <pin_dir>/maps. `pin_dir` must be on bpffs (see ensure_bpffs). Attaches nothing.
  static base::Result<std::unique_ptr<CapturePrograms>> load(const std::string& pin_dir);
  ~CapturePrograms();
  CapturePrograms(const CapturePrograms&) = delete;
  CapturePrograms& operator=(const CapturePrograms&) = delete;

  const CaptureMaps& maps() const { return maps_; }
  const std::string& pin_dir() const { return pin_dir_; }

  // connect4/6, getpeername4/6 and sockops on the cgroup (v2 directory fd, its id).
  base::Status attach_cgroup(int cgroup_fd, uint64_t cgroup_id);
  base::Status detach_cgroup(uint64_t cgroup_id);
  // sk_lookup on the netns (fd of the netns, its inode number).
  base::Status attach_netns(int netns_fd, uint64_t netns_ino);
  base::Status detach_netns(uint64_t netns_ino);
  // Netns inodes that have a pinned sk_lookup link.
  base::Result<std::vector<uint64_t>> pinned_netns() const;
  base::Result<std::vector<PinnedLink>> pinned_links() const;

  // Counters summed over CPUs, indexed by mesh_stat.
  base::Result<std::array<uint64_t, kStatCount>> stats() const;

 private:
  struct Impl;
  CapturePrograms(std::unique_ptr<Impl> impl, std::string pin_dir);
  std::unique_ptr<Impl> impl_;
  std::string pin_dir_;
  CaptureMaps maps_;
};

// Routes libbpf's messages into the daemon log (warnings as warnings, the rest as debug).
void install_libbpf_logger();

}  // namespace mesh::ebpf
