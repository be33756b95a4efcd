#pragma once
// OrigDstResolver answers "where was this accepted connection going?" for the daemon's
// workers, right after accept():
//   outbound (15001): eBPF mode looks up mesh_orig_tup by (the workload's netns cookie, the
//     accepted socket's peer address) and deletes the entry; nftables mode (and an eBPF miss,
//     e.g. a connection made before an upgrade to eBPF) asks conntrack with SO_ORIGINAL_DST.
//   inbound (15006): eBPF mode (sk_lookup) preserves the destination, so getsockname();
//     nftables mode uses SO_ORIGINAL_DST.
// NotFound means the connection did not come through capture: reset it and count it.
// Cheap to copy; holds only the mode and a borrowed map fd that stays valid while the
// Capture that made it lives. Safe to call from any thread concurrently (one syscall each).
#include <cstdint>

#include "daemon/base/result.hpp"
#include "daemon/base/socket_addr.hpp"
#include "daemon/datapath/capture_options.hpp"
#include "ebpf/loader/abi.hpp"
#include "ebpf/loader/typed_map.hpp"

namespace mesh::datapath {

class OrigDstResolver {
 public:
  OrigDstResolver() = default;
  OrigDstResolver(CaptureMode mode, ebpf::TypedMap<mesh_tuple_key, mesh_orig> tuples)
      : mode_(mode), tuples_(std::move(tuples)) {}

  base::Result<base::SocketAddr> outbound(uint64_t netns_cookie, int accepted_fd) const;
  base::Result<base::SocketAddr> inbound(int accepted_fd) const;

 private:
  CaptureMode mode_ = CaptureMode::Nftables;
  ebpf::TypedMap<mesh_tuple_key, mesh_orig> tuples_;
};

// getsockopt(SO_ORIGINAL_DST) for IPv4 (also on a dual-stack socket's v4-mapped connection)
// and IP6T_SO_ORIGINAL_DST for IPv6. NotFound when conntrack has no NAT for it.
base::Result<base::SocketAddr> so_original_dst(int fd);

// The key sockops stores for a client at `peer` in the netns with `netns_cookie`.
mesh_tuple_key tuple_key(uint64_t netns_cookie, const base::SocketAddr& peer);
base::SocketAddr to_socket_addr(const mesh_orig& orig);

}  // namespace mesh::datapath
