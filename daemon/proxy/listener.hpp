#pragma once
// Listener: one worker's accept loop on one listening socket (a static relay, or a
// workload's outbound or inbound capture port). Multishot accept; each connection is checked
// against the drain flag and the daemon-wide budget, its upstream is decided by the
// listener's DestinationFn (a fixed address, or the original destination that capture
// recorded), and it is handed to a new Splice. Rejections are reset (RST) so the client fails
// fast, and counted. Runs on its worker's thread.
#include <functional>
#include <memory>
#include <optional>

#include "daemon/base/fd.hpp"
#include "daemon/io/op.hpp"
#include "daemon/io/timer_queue.hpp"
#include "daemon/proxy/channel/dial_profile.hpp"
#include "daemon/proxy/relay_stats.hpp"
#include "daemon/proxy/hbone/tunnel_connection.hpp"
#include "daemon/proxy/hbone/tunnel_pool.hpp"
#include "daemon/proxy/worker_context.hpp"

namespace mesh::proxy {

struct OutboundPlan;

// Where an accepted connection goes, or why it goes nowhere: straight to `upstream` over
// TCP, or through an HBONE tunnel when `tunnel` is set.
struct FlowTarget {
  base::SocketAddr upstream;
  RejectReason reject = RejectReason::kCount;  // kCount: not rejected
  std::shared_ptr<const OutboundTunnel> tunnel;
  std::optional<FlowAttrs> attrs;              // set for inbound connections: re-checked on policy changes
  // Set for an outbound connection to a service port that may carry HTTP: the connection
  // goes to `upstream`/`tunnel` first, and is routed request by request if it is HTTP/1.1.
  std::shared_ptr<const OutboundPlan> http;

  static FlowTarget to(const base::SocketAddr& addr) { return {addr, RejectReason::kCount, nullptr, std::nullopt, nullptr}; }
  static FlowTarget through(std::shared_ptr<const OutboundTunnel> t) {
    return {{}, RejectReason::kCount, std::move(t), std::nullopt, nullptr};
  }
  static FlowTarget refuse(RejectReason reason) { return {{}, reason, nullptr, std::nullopt, nullptr}; }
};

// The server side of a 15008 listener: which certificate to present, and what to do with
// each CONNECT request (the tunnel's peer identity and the local address it arrived on
// are known by then).
struct InboundDecision {
  int status = 200;                            // 200: relay to `upstream`; else answer this
  base::SocketAddr upstream;
  RejectReason reject = RejectReason::kCount;  // counted when status != 200
  std::optional<FlowAttrs> attrs;              // what authorization looked at
};
struct TunnelServerSpec {
  std::function<std::shared_ptr<const tunnel::TlsContext>()> tls;  // null: no certificate
  std::function<InboundDecision(const tunnel::hbone::ConnectRequest& request, const tunnel::SpiffeId& peer,
                                const base::SocketAddr& remote, const base::SocketAddr& local)>
      decide;
};

// Called on the worker thread right after accept with the accepted socket.
using DestinationFn = std::function<FlowTarget(int accepted_fd)>;

struct ListenerSpec {
  uint64_t id = 0;                              // chosen by the caller; unique per worker
  base::Fd fd;                                  // the listening socket (this worker's own)
  std::shared_ptr<const DialProfile> profile;
  std::shared_ptr<RelayStats> stats;            // this worker's stats for this listener
  DestinationFn destination;                    // relays and captured ports
  std::shared_ptr<const TunnelServerSpec> tunnel_server;  // set for an HBONE (15008) listener
};

class Listener final : private io::Timer::Handler {
 public:
  Listener(WorkerContext& ctx, ListenerSpec spec);
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  void start();
  // Stops accepting and closes the listen socket once the kernel has let go of it, then
  // calls `on_closed` (from the loop, never from inside stop()). Only after that may the
  // listener be destroyed while its loop runs: a cancelled accept still completes.
  void stop(std::function<void()> on_closed = {});
  bool closed() const { return !spec_.fd.valid(); }
  uint64_t id() const { return spec_.id; }
  const RelayStats& stats() const { return *spec_.stats; }
  const DialProfile& profile() const { return *spec_.profile; }
  // Serves a 15008 connection another worker accepted (see LocalTunnels). False when this
  // listener is not a 15008 one or is stopping; `conn` is then left to the caller to refuse.
  bool adopt_tunnel(base::Fd& conn);

 private:
  void on_accept(int res, uint32_t flags);
  void accept_tunnel(base::Fd conn, const std::optional<TunnelConnection::SocketEnds>& ends);
  // Hands `conn` to another worker when LocalTunnels says so; otherwise false, with the
  // socket's addresses in `ends` if it read them (TunnelConnection needs them too).
  bool hand_off(base::Fd& conn, std::optional<TunnelConnection::SocketEnds>& ends);
  void on_timer(io::Timer&) override;
  void arm();
  void closed_now();

  WorkerContext& ctx_;
  ListenerSpec spec_;
  io::MemberOp<Listener, &Listener::on_accept> accept_op_{this};
  io::Timer retry_timer_{this};
  bool armed_ = false;
  bool stopping_ = false;
  std::function<void()> on_closed_;
};

}  // namespace mesh::proxy
