#pragma once
// EbpfBackend: capture with the eBPF programs. create() mounts bpffs if needed, loads the
// programs (reusing pinned maps), writes mesh_config and the exclusion maps, and attaches
// the cgroup programs to the capture cgroup root (pinned links, program swapped in place when
// they already exist: restart and upgrade). install() writes a workload's entries in the
// order that never opens a window without capture: address maps and the inbound listener,
// then the netns sk_lookup link, and last the netns-cookie entry that turns on outbound
// capture. remove() undoes it in the reverse order. Control thread only.
#include <memory>
#include <vector>

#include "daemon/datapath/capture_backend.hpp"
#include "daemon/datapath/capture_options.hpp"
#include "ebpf/loader/capture_programs.hpp"

namespace mesh::datapath {

class EbpfBackend final : public CaptureBackend {
 public:
  static base::Result<std::unique_ptr<EbpfBackend>> create(const CaptureOptions& options);

  base::Status install(const WorkloadRecord& record, const Netns* netns,
                       const Listeners& listeners) override;
  base::Status remove(const WorkloadRecord& record, const Netns* netns) override;
  // Deletes map entries and links that belong to no workload in `live` (after a crash, or a
  // netns that vanished while the daemon was down).
  base::Status reconcile(const std::vector<WorkloadRecord>& live);
  // Loads the programs again (maps reused) and swaps them into every pinned link atomically:
  // the upgrade path. Established connections are untouched; there is no window without
  // capture. The previous programs are kept (detached) so that resolvers handed out earlier
  // keep valid map descriptors.
  base::Status upgrade(const CaptureOptions& options, const std::vector<WorkloadRecord>& live);
  // Detaches the cgroup links and removes every pin (uninstall).
  base::Status uninstall();

  const ebpf::CapturePrograms& programs() const { return *programs_; }

 private:
  EbpfBackend(std::unique_ptr<ebpf::CapturePrograms> programs, uint64_t cgroup_id)
      : programs_(std::move(programs)), cgroup_id_(cgroup_id) {}
  std::unique_ptr<ebpf::CapturePrograms> programs_;
  std::vector<std::unique_ptr<ebpf::CapturePrograms>> retired_;
  uint64_t cgroup_id_;
};

// The value written to mesh_pods / mesh_cgroups / mesh_pod_ips for a workload.
mesh_workload workload_value(const WorkloadRecord& record);
mesh_ip_key ip_key(const base::IpAddr& ip);
// The exclusion keys for the options (ports and CIDRs, both directions).
std::vector<mesh_port_key> port_keys(const CaptureOptions& options);
std::vector<mesh_cidr_key> cidr_keys(const CaptureOptions& options);

}  // namespace mesh::datapath
