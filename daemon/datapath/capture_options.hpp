#pragma once
// CaptureOptions: every setting of transparent capture, as plain data. The daemon's TOML
// config ([capture] table, see docs/capture.md) maps onto it field by field; defaults are the
// production values, tests point the paths at temp dirs and their own cgroup and bpffs.
// Plain value; any thread.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/base/result.hpp"
#include "daemon/base/socket_addr.hpp"

namespace mesh::datapath {

enum class CaptureMode { Auto, Ebpf, Nftables };

std::string_view to_string(CaptureMode mode);
base::Result<CaptureMode> parse_capture_mode(std::string_view text);  // auto | ebpf | nftables

struct CaptureOptions {
  CaptureMode mode = CaptureMode::Auto;
  // Never captured: outbound destination ports / CIDRs, inbound destination ports / source CIDRs.
  std::vector<uint16_t> exclude_outbound_ports;
  std::vector<uint16_t> exclude_inbound_ports;
  std::vector<base::Cidr> exclude_outbound_cidrs;
  std::vector<base::Cidr> exclude_inbound_cidrs;
  // bpffs mount point (mounted if missing) and the versioned pin directory inside it.
  std::string bpffs = "/sys/fs/bpf";
  std::string pin_dir = "/sys/fs/bpf/meshd/v1";
  // Enrolled workloads, rewritten atomically on every change; read back on start.
  std::string state_file = "/var/lib/meshd/workloads.state";
  // Enrollment requests written while the daemon was down (one <name>.workload file each).
  std::string pending_dir = "/var/lib/meshd/enroll.d";
  // cgroup v2 directory the cgroup programs attach to: absolute, or relative to the cgroup2
  // mount; "" means the mount's root (every process on the node).
  std::string cgroup_root;
  uint32_t mark = 0x539;  // SO_MARK on the daemon's own sockets (Istio's value)
  uint32_t mark_mask = 0xfff;
  uint16_t outbound_port = 15001;
  uint16_t inbound_port = 15006;
  uint16_t tunnel_port = 15008;
  std::string nft_command = "nft";  // the nftables CLI, run inside each workload netns
  // Test seam: called between enrollment stages ("listeners", "installed"); an error makes
  // that stage fail, which exercises the rollback. Unset in production.
  std::function<base::Status(std::string_view stage)> stage_hook;
};

}  // namespace mesh::datapath
