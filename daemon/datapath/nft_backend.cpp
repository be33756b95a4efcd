#include "daemon/datapath/nft_backend.hpp"

#include "daemon/datapath/nft_ruleset.hpp"

namespace mesh::datapath {

base::Status NftBackend::install(const WorkloadRecord& r, const Netns* netns, const Listeners&) {
  if (r.spec.bare_metal() || netns == nullptr)
    return base::fail(base::Errc::Unsupported,
                      "bare-metal (cgroup) enrollment needs eBPF capture; nftables mode captures pods only");
  NftParams p;
  p.workload_ips = r.spec.ips;
  p.mark = options_.mark;
  p.mark_mask = options_.mark_mask;
  p.outbound_port = options_.outbound_port;
  p.inbound_port = options_.inbound_port;
  p.tunnel_port = options_.tunnel_port;
  p.exclude_outbound_ports = options_.exclude_outbound_ports;
  p.exclude_inbound_ports = options_.exclude_inbound_ports;
  p.exclude_outbound_cidrs = options_.exclude_outbound_cidrs;
  p.exclude_inbound_cidrs = options_.exclude_inbound_cidrs;
  // One nft transaction: either the whole table is in place or nothing changed.
  return apply_nft(*netns, options_.nft_command, render_nft_ruleset(p));
}

base::Status NftBackend::remove(const WorkloadRecord& r, const Netns* netns) {
  if (r.spec.bare_metal() || netns == nullptr) return base::ok();  // rules die with the netns
  return apply_nft(*netns, options_.nft_command, render_nft_delete());
}

}  // namespace mesh::datapath
