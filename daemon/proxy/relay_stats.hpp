#pragma once
// Statistics of one relay listener on one worker. Written only by that worker's thread,
// read by the metrics scrape (see base::Counter). The enums are the label values of
// meshd_connections_rejected_total{reason} and meshd_connections_closed_total{reason}.
#include <array>
#include <string_view>

#include "daemon/base/counter.hpp"

namespace mesh::proxy {

// Why an accepted connection was not relayed.
enum class RejectReason : uint8_t {
  ConnectionLimit,      // runtime.max_connections reached
  Draining,             // accepted while shutting down
  UpstreamRefused,      // ECONNREFUSED from the upstream
  UpstreamUnreachable,  // no route, network unreachable, address not available
  UpstreamTimeout,      // connect did not finish within connect_timeout
  UpstreamError,        // any other connect failure
  NoDestination,        // a captured connection whose original destination is unknown
  SelfCall,             // a captured connection to one of meshd's own ports (a loop)
  TunnelFailed,         // no mTLS tunnel to the destination (dial, handshake or identity failed)
  Denied,               // refused by authorization (ours, or the peer's 401/403)
  PeerUnavailable,      // the destination's node answered 503 (no such workload, upstream down)
  NoCertificate,        // the source workload has no certificate to prove its identity
  Plaintext,            // plaintext to a workload whose peer authentication is STRICT
  kCount,
};

// How a relayed connection ended.
enum class CloseReason : uint8_t {
  Normal,          // both sides finished (FIN both ways)
  IdleTimeout,
  DownstreamReset,
  UpstreamReset,
  DrainDeadline,   // still open when the drain deadline passed
  Unenrolled,      // its workload was unenrolled or its netns disappeared
  TunnelLost,      // the HBONE connection carrying it failed or closed
  PolicyChanged,   // authorization changed and no longer allows it
  Denied,          // inspected for HTTP, found opaque, and then refused with TCP semantics
  HttpError,       // malformed HTTP, either side (answered 4xx/502 when it could be)
  Error,           // an unexpected I/O error
  kCount,
};

std::string_view to_string(RejectReason r);
std::string_view to_string(CloseReason r);

struct RelayStats {
  base::Counter accepted;  // connections taken off the listen queue
  base::Counter opened;    // connected to the upstream and relaying
  base::Gauge active;      // accepted and not yet fully closed
  base::Counter bytes_to_upstream;
  base::Counter bytes_to_downstream;
  std::array<base::Counter, static_cast<size_t>(RejectReason::kCount)> rejected;
  std::array<base::Counter, static_cast<size_t>(CloseReason::kCount)> closed;
  base::Counter accept_errors;

  void reject(RejectReason r) { rejected[static_cast<size_t>(r)].inc(); }
  void close(CloseReason r) { closed[static_cast<size_t>(r)].inc(); }
};

}  // namespace mesh::proxy
