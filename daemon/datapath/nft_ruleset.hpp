#pragma once
// The nftables fallback, Istio in-pod style: one `table inet meshd` inside each workload
// netns. render_nft_ruleset() builds the rules (pure, unit-tested); apply_nft() runs the nft
// CLI inside a netns (fork, setns in the child, exec), so nothing is installed anywhere else.
//   output:     TCP not marked by the daemon, not to loopback or the workload's own address,
//               not excluded → redirect to :15001
//   prerouting: TCP not from the daemon's hop source, not to the tunnel port, not excluded
//               → redirect to :15006
// The ruleset replaces any previous table atomically (one nft transaction). The daemon reads
// the original destination with SO_ORIGINAL_DST (conntrack). Stateless; any thread.
#include <cstdint>
#include <string>
#include <vector>

#include "daemon/base/result.hpp"
#include "daemon/base/socket_addr.hpp"
#include "daemon/datapath/netns.hpp"

namespace mesh::datapath {

inline constexpr std::string_view kNftTable = "meshd";

struct NftParams {
  std::vector<base::IpAddr> workload_ips;
  uint32_t mark = 0x539;
  uint32_t mark_mask = 0xfff;
  uint16_t outbound_port = 15001;
  uint16_t inbound_port = 15006;
  uint16_t tunnel_port = 15008;
  std::vector<uint16_t> exclude_outbound_ports;
  std::vector<uint16_t> exclude_inbound_ports;
  std::vector<base::Cidr> exclude_outbound_cidrs;
  std::vector<base::Cidr> exclude_inbound_cidrs;
};

std::string render_nft_ruleset(const NftParams& params);
std::string render_nft_delete();

// Runs `nft -f -` with `script` inside `netns`; the error carries nft's stderr.
base::Status apply_nft(const Netns& netns, const std::string& nft_command, const std::string& script);

}  // namespace mesh::datapath
