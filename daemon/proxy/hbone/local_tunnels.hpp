#pragma once
// LocalTunnels: the HBONE connections this daemon dials to its own 15008 (a destination on
// the same node) and the worker that dialled each one. A 15008 socket is shared by every
// worker, so the worker that accepts the far end of such a tunnel is whichever took the
// connection first. The accepting worker asks here and, by the daemon's
// `runtime.local_tunnel_worker` setting, hands the accepted socket on:
//   Same (default): to the worker that dialled it, so that one thread runs both ends: a
//          request crosses no thread, which saves two wake-ups per round trip and their CPU;
//   Other: when it dialled the tunnel itself, to another worker, so that the two ends run in
//          parallel as they would between nodes (one connection can use two CPUs).
// Only performance depends on it: a miss leaves the connection where it was accepted.
//
// Thread-safe. Touched when a tunnel connection is dialled, accepted and closed, never per
// stream or per byte.
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <utility>

#include "daemon/base/fd.hpp"
#include "daemon/base/socket_addr.hpp"

namespace mesh::proxy {

class LocalTunnels {
 public:
  // Moves an accepted socket to worker `to`'s listener `listener` (which owns it from then on).
  using HandoffFn = std::function<void(unsigned to, uint64_t listener, base::Fd accepted)>;

  enum class Placement { OtherWorker, SameWorker };

  LocalTunnels(unsigned workers, Placement placement, HandoffFn handoff)
      : workers_(workers), placement_(placement), handoff_(std::move(handoff)) {}
  LocalTunnels(const LocalTunnels&) = delete;
  LocalTunnels& operator=(const LocalTunnels&) = delete;

  unsigned workers() const { return workers_; }

  // Worker `worker` dialled `peer` (an address:15008) from local port `port`, before connect.
  void dialled(const base::SocketAddr& peer, uint16_t port, unsigned worker);
  void closed(const base::SocketAddr& peer, uint16_t port);

  // A connection accepted on `local` (our 15008) from `remote`: the worker that dialled it,
  // if this daemon did.
  std::optional<unsigned> dialler(const base::SocketAddr& local, const base::SocketAddr& remote) const;

  // Where worker `accepting` should serve a connection `dialler` dialled (nullopt: from
  // another node), by the placement: the worker to hand it to, or nullopt to keep it.
  std::optional<unsigned> move_to(unsigned accepting, std::optional<unsigned> dialler) const;

  void handoff(unsigned to, uint64_t listener, base::Fd accepted) const { handoff_(to, listener, std::move(accepted)); }

 private:
  const unsigned workers_;
  const Placement placement_;
  const HandoffFn handoff_;
  mutable std::mutex mu_;
  std::map<std::pair<base::SocketAddr, uint16_t>, unsigned> dialled_;  // (peer, local port) → worker
};

}  // namespace mesh::proxy
