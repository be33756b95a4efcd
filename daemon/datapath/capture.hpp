#pragma once
// Capture: the enrollment engine of transparent capture. create() probes the kernel, picks
// eBPF or the nftables fallback (and says why), loads or reuses the pinned programs and maps,
// and reads the state file. enroll() creates a workload's listeners inside its netns (setns on
// the calling thread), installs its map entries or nft rules and records it, all or nothing.
// restore() re-installs every recorded workload after a daemon restart (new listeners, same
// pinned links and maps) and picks up enrollments written while the daemon was down.
// collect_garbage() removes workloads whose netns or cgroup disappeared.
//
// The caller owns the returned listeners: close them after unenroll() or when a workload is
// collected (the netns lives as long as any socket in it). Control-plane methods serialise on
// an internal mutex and block on syscalls (and on nft in nftables mode): call them from the
// control thread, never from an io_uring worker. resolver() is for the workers.
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/base/result.hpp"
#include "daemon/datapath/capture_backend.hpp"
#include "daemon/datapath/capture_options.hpp"
#include "daemon/datapath/listeners.hpp"
#include "daemon/datapath/orig_dst.hpp"
#include "daemon/datapath/workload.hpp"
#include "ebpf/loader/probe.hpp"

namespace mesh::datapath {

class EbpfBackend;

struct ModeDecision {
  CaptureMode mode = CaptureMode::Nftables;  // Ebpf or Nftables, never Auto
  std::string reason;                        // for `meshctl status`
};

struct Enrolled {
  std::string name;
  uint64_t netns_cookie = 0;  // pass to OrigDstResolver::outbound for this workload's accepts
  Listeners listeners;
};

struct WorkloadStatus {
  WorkloadRecord record;
  std::string status;  // "captured", "netns gone", "cgroup gone"
};

struct CaptureCounters {
  std::array<uint64_t, ebpf::kStatCount> bpf{};  // per-reason, eBPF mode only (names: ebpf::kStatNames)
  uint64_t enrolled = 0;          // successful enrollments (incl. restored)
  uint64_t enroll_failed = 0;     // rejected or rolled back
  uint64_t unenrolled = 0;
  uint64_t collected = 0;         // removed because the netns or cgroup vanished
};

class Capture {
 public:
  static base::Result<std::unique_ptr<Capture>> create(CaptureOptions options);
  ~Capture();

  base::Result<Enrolled> enroll(const WorkloadSpec& spec);
  base::Status unenroll(std::string_view name);
  // After a restart: listeners for every recorded workload that still exists, then the pending
  // enrollments. Per-workload failures are logged and counted, not fatal.
  std::vector<Enrolled> restore();
  // Names of the workloads removed because their netns or cgroup is gone.
  std::vector<std::string> collect_garbage();
  // eBPF mode: loads the programs again and swaps them into the pinned links atomically
  // (same link ids, new program ids); listeners and connections are untouched.
  base::Status upgrade();
  // Removes every workload, link and pin (meshctl uninstall; tests).
  base::Status uninstall();

  std::vector<WorkloadStatus> workloads() const;
  const ModeDecision& mode() const { return mode_; }
  const ebpf::ProbeReport& probe() const { return probe_; }
  OrigDstResolver resolver() const;
  CaptureCounters counters() const;
  const CaptureOptions& options() const { return options_; }

 private:
  Capture(CaptureOptions options, ModeDecision mode, ebpf::ProbeReport probe,
          std::unique_ptr<CaptureBackend> backend, EbpfBackend* ebpf);
  base::Status check_unique(const WorkloadSpec& spec) const;
  base::Result<Enrolled> enroll_pod(const WorkloadSpec& spec);
  base::Result<Enrolled> enroll_cgroup(const WorkloadSpec& spec);
  base::Result<Enrolled> reinstall(const WorkloadRecord& record);
  base::Result<Enrolled> commit(WorkloadRecord record, const Netns* netns, Listeners listeners);
  base::Status stage(std::string_view name) const;
  bool alive(const WorkloadRecord& record) const;
  base::Status save() const;

  CaptureOptions options_;
  ModeDecision mode_;
  ebpf::ProbeReport probe_;
  std::unique_ptr<CaptureBackend> backend_;
  EbpfBackend* ebpf_;  // backend_ when in eBPF mode, else null
  mutable std::mutex mu_;
  std::vector<WorkloadRecord> records_;
  CaptureCounters counters_;
};

}  // namespace mesh::datapath
