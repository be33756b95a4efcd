#pragma once
// The listening sockets of one enrolled workload. For a pod they are created inside its
// netns (the caller enters it first, see NetnsScope) and bound to [::] dual-stack (IPv4
// arrives v4-mapped): 15001 outbound (capture rewrites connects to 127.0.0.1 / ::1 there),
// 15006 inbound plaintext (sk_lookup or REDIRECT steers to it), 15008 inbound HBONE. All have
// SO_REUSEPORT (so a second daemon generation can overlap) and are blocking, close-on-exec.
// A bare-metal workload gets only an outbound listener on 127.0.0.1 with a kernel-chosen
// port, in the daemon's own netns. Owned by the caller (the daemon hands them to workers).
#include <cstdint>

#include "daemon/base/fd.hpp"
#include "daemon/base/result.hpp"

namespace mesh::datapath {

struct Listeners {
  base::Fd outbound;  // 15001 (or the per-workload port for bare metal)
  base::Fd inbound;   // 15006; invalid for bare metal
  base::Fd tunnel;    // 15008; invalid for bare metal
};

struct ListenerPorts {
  uint16_t outbound = 15001;
  uint16_t inbound = 15006;
  uint16_t tunnel = 15008;
};

inline constexpr int kListenBacklog = 4096;

// In the calling thread's current netns.
base::Result<Listeners> create_pod_listeners(const ListenerPorts& ports);
base::Result<base::Fd> create_loopback_listener();

// The local port a socket is bound to.
base::Result<uint16_t> local_port(int fd);

}  // namespace mesh::datapath
