#pragma once
// DialProfile: how the upstream connections of one listener are dialled and timed —
// inside which network namespace, with which mark and source address, and how long a dial
// and an idle connection may last. Immutable; shared by a listener and its flows on one
// worker (a flow compares its profile's address to find the flows of a removed listener).
#include <memory>
#include <optional>
#include <string>

#include "daemon/base/clock.hpp"
#include "daemon/base/fd.hpp"
#include "daemon/base/result.hpp"
#include "daemon/base/socket_addr.hpp"
#include "daemon/proxy/relay_stats.hpp"

namespace mesh::proxy {

struct DialProfile {
  std::string name;                       // for logs
  base::Duration connect_timeout = std::chrono::seconds(10);
  base::Duration idle_timeout = std::chrono::hours(1);
  std::shared_ptr<base::Fd> netns;        // dial inside this netns (null: the worker's own)
  uint32_t mark = 0;                      // SO_MARK on upstream sockets (0: none)
  std::optional<base::IpAddr> source_v4;  // bind the upstream socket to this source (IPv4)
  std::optional<base::IpAddr> source_v6;  // ... and this one for IPv6 destinations
};

// A non-blocking TCP socket for a connection to `upstream` dialled as `profile` says: inside
// its netns, with its mark, bound to its source address for that family.
base::Result<base::Fd> upstream_socket(const DialProfile& profile, const base::SocketAddr& upstream);
// What a failed connect to an upstream (its errno) is counted as.
RejectReason reject_for_connect_error(int err);

}  // namespace mesh::proxy
