#pragma once
// Splice: the L4 relay — two ByteChannels with bytes copied both ways, whatever their
// transports: socket to socket (a static relay, a captured connection to a plain
// destination), socket to HBONE stream (outbound to a meshed peer) and HBONE stream to socket
// (inbound from 15008 to the local application).
//
//   start     dial the upstream socket; Connected -> relay
//   outbound  CONNECT through a pooled tunnel; 200 -> relay
//   inbound   dial the application; Connected -> answer 200, relay; failure -> answer 503
//
// Each direction moves what its source holds into its destination while the destination is
// writable, and pauses the source otherwise (resumed on Writable): a slow reader
// back-pressures its writer through socket buffers and HTTP/2 windows. The peer's end is
// passed on (FIN <-> END_STREAM) once everything before it is written; the flow ends
// normally when both directions have ended and the last bytes are out.
//
// How a splice ends (written once here for all three kinds; docs/architecture.md):
//   the upstream cannot be reached      rejected (reason by errno or CONNECT status); the
//                                       application's connection is closed (FIN, as Envoy's
//                                       TCP proxy and ztunnel); inbound, answered 503
//   a channel is reset or fails         closed (reset by side, Error, TunnelLost); the other
//                                       side is reset, so a cut stream never looks complete
//   idle timeout                        sockets get FIN, a stream RST_STREAM CANCEL
//   drain deadline, unenroll, policy    both sides reset
//
// An inbound flow whose attributes say per_request (an HTTP-capable port), or an outbound one
// with an OutboundPlan (a service port that may carry HTTP), is served by an HttpConnection
// once its first upstream is connected: it detects the protocol and either handles HTTP/1.1
// requests one by one or hands the bytes back to the relay here. Outbound, it may open more
// upstream channels (one per endpoint a request goes to); the splice owns them, and a
// retired one leaves the flow once quiet.
#include <memory>
#include <optional>

#include "daemon/proxy/channel/channel_flow.hpp"
#include "daemon/proxy/hbone/tunnel_pool.hpp"
#include "daemon/proxy/http/http_connection.hpp"

namespace mesh::proxy {

class Splice : public ChannelFlow, private HttpConnectionHost {
 public:
  // `downstream` was accepted and counted against the budget.
  static void start(WorkerContext& ctx, std::shared_ptr<const DialProfile> profile, std::shared_ptr<RelayStats> stats,
                    base::Fd downstream, const base::SocketAddr& upstream, std::optional<FlowAttrs> attrs = std::nullopt,
                    std::shared_ptr<const OutboundPlan> http = nullptr);
  static void outbound(WorkerContext& ctx, TunnelPool& pool, std::shared_ptr<const DialProfile> profile,
                       std::shared_ptr<RelayStats> stats, base::Fd downstream,
                       std::shared_ptr<const OutboundTunnel> target, std::shared_ptr<const OutboundPlan> http = nullptr);
  // A CONNECT arrived on `stream` of `conn` and was allowed: dial `upstream`, then answer.
  static void inbound(WorkerContext& ctx, TunnelConnection& conn, tunnel::http::StreamId stream,
                      std::shared_ptr<const DialProfile> profile, std::shared_ptr<RelayStats> stats,
                      const base::SocketAddr& upstream, std::optional<FlowAttrs> attrs = std::nullopt);

 protected:
  using ChannelFlow::ChannelFlow;
  // The dialled side is connected: start relaying (an inbound splice answers 200 first).
  virtual void opened() = 0;
  // The dial failed with `reason`.
  virtual void refused(RejectReason reason) = 0;
  void bind(ByteChannel& down, ByteChannel& up);
  // The dialled side is connected: relay bytes (or serve HTTP first, see above).
  void relay();

 private:
  void on_event(ByteChannel& channel, ChannelEvent event) override;
  void on_closing() override;
  // HttpConnectionHost
  void http_to_relay(ByteChannel& up) override;
  void http_finish(CloseReason reason, bool reset) override { finish(reason, reset); }
  FlowAttrs* http_attrs() override { return attrs_ ? &*attrs_ : nullptr; }
  RelayStats& http_relay_stats() override { return *stats_; }
  ByteChannel* http_dial(const FlowTarget& target) override;
  void http_retire(ByteChannel& channel) override;
  // A retired channel went quiet: it leaves the flow (and is freed if the splice made it).
  void release(ByteChannel& channel);

  void pump(ByteChannel& from, ByteChannel& to);
  void check_done();
  ByteChannel& other(ByteChannel& ch) { return &ch == down_ ? *up_ : *down_; }

  ByteChannel* down_ = nullptr;
  ByteChannel* up_ = nullptr;
  bool relaying_ = false;
  bool ended_to_up_ = false;    // the downstream's end was passed on upstream
  bool ended_to_down_ = false;
  std::shared_ptr<const OutboundPlan> plan_;
  std::unique_ptr<HttpConnection> http_;
  std::vector<std::unique_ptr<ByteChannel>> owned_;  // upstreams an HTTP connection opened
  std::vector<ByteChannel*> retired_;                // closed, not yet quiet
  std::string forwarded_;                            // for CONNECTs the HTTP connection makes
};

}  // namespace mesh::proxy
