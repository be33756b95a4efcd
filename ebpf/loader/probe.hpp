#pragma once
// Feature probe for eBPF capture: asks the running kernel, through libbpf's probes (each
// loads a trivial program or creates a tiny map and throws it away), whether every program
// type, map type and helper the capture programs use is available. Nothing is attached.
// The datapath uses the report to choose eBPF or the nftables fallback and to say why.
// Stateless; any thread.
#include <string>
#include <vector>

namespace mesh::ebpf {

struct ProbeItem {
  std::string what;  // "prog_type cgroup_sock_addr", "helper sk_assign in sk_lookup", ...
  bool ok = false;
  std::string detail;  // errno text when the probe itself failed (e.g. EPERM)
};

struct ProbeReport {
  std::vector<ProbeItem> items;
  bool all_ok() const;
  // "" when all_ok(), else a short sentence naming every missing item.
  std::string missing() const;
};

ProbeReport probe_capture_features();

}  // namespace mesh::ebpf
