#pragma once
// TunnelPool: one worker's HBONE client connections, reused across flows. The decisions
// (reuse up to the stream limit, open another when full, one dial at a time per key,
// bounded concurrent handshakes, idle expiry) are hbone::ConnectionPool's; this class owns
// the TunnelConnections behind its ConnIds and parks flows that must wait. Keys are (source
// identity, acceptable destination identities, destination pod:15008); connections are dialled
// from the source workload's netns, so they are effectively per source workload, as in ztunnel.
// Runs on its worker's thread.
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include "daemon/proxy/hbone/tunnel_connection.hpp"
#include "tunnel/hbone/connection_pool.hpp"

namespace mesh::proxy {

struct DialProfile;

// Where a captured outbound connection is tunnelled: decided per connection by the app.
struct OutboundTunnel {
  tunnel::hbone::PoolKey key;                     // source, destination identities, pod-ip:15008
  std::shared_ptr<const tunnel::TlsContext> tls;  // the source identity's client context
  std::string authority;                          // the original destination, "ip:port"
};

class TunnelPool final : private io::Timer::Handler {
 public:
  class Waiter {
   public:
    // A usable connection on which the pool has counted one stream for this waiter, or
    // nullptr when none could be had (counted as a tunnel failure).
    virtual void on_tunnel(TunnelConnection* conn) = 0;

   protected:
    ~Waiter() = default;
  };

  TunnelPool(WorkerContext& ctx, TunnelStats& stats);
  TunnelPool(const TunnelPool&) = delete;
  TunnelPool& operator=(const TunnelPool&) = delete;
  ~TunnelPool();

  // Calls waiter.on_tunnel() now or later. `profile` says how to dial (netns, mark, timeout).
  void acquire(std::shared_ptr<const OutboundTunnel> target, std::shared_ptr<const DialProfile> profile,
               Waiter& waiter);
  void cancel(Waiter& waiter);
  // A stream counted for `conn` has ended.
  void release_stream(TunnelConnection& conn);
  // Drain: GOAWAY on every pooled connection.
  void drain_all();
  size_t connections() const { return conns_.size(); }

 private:
  struct Pending {
    std::shared_ptr<const OutboundTunnel> target;
    std::shared_ptr<const DialProfile> profile;
    Waiter* waiter;
  };
  void attempt(Pending pending);
  void dial(tunnel::hbone::ConnId id, Pending pending);
  void retry_waiting();
  void on_timer(io::Timer&) override;

  WorkerContext& ctx_;
  TunnelStats& stats_;
  tunnel::hbone::ConnectionPool pool_;
  std::unordered_map<tunnel::hbone::ConnId, TunnelConnection*> conns_;
  std::unordered_map<const TunnelConnection*, tunnel::hbone::ConnId> ids_;
  std::list<Pending> waiting_;
  std::unordered_map<tunnel::hbone::ConnId, Waiter*> dialers_;  // the flow each dial is for
  io::Timer idle_timer_{this};
};

}  // namespace mesh::proxy
