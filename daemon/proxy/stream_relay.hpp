#pragma once
// StreamRelay: one proxied TCP connection carried in an HBONE stream. One side is a TCP
// socket — the application's connection we accepted on 15001 (outbound), or our connection
// to the local application for a stream that arrived on 15008 (inbound) — the other is a
// CONNECT stream of a TunnelConnection.
//
//   outbound: wait for a pooled tunnel -> CONNECT :authority=dst -> 200 -> relay
//             (401/403 -> denied, 503 -> peer unavailable: the app's connection is reset)
//   inbound:  dial the application (from 127.0.0.6 in the pod's netns) -> 200 -> relay
//             (dial failure -> 503)
//
// Socket -> stream: a receive into a provided buffer is written into the stream's send buffer
// (the only copy) and the buffer goes back at once; the socket is not read while the stream
// buffers more than its limit (resumed on Writable). Stream -> socket: the stream's received
// bytes are sent in place (peek, send, consume), which is what opens the HTTP/2 window again,
// so a slow application back-pressures the remote sender. EOF <-> END_STREAM, reset <->
// RST_STREAM. A normal end waits for the stream's Closed event (our END_STREAM and every byte
// before it are out): releasing a stream that is still open resets it and drops what it had
// queued. A refused inbound stream likewise lets its 503 out before it is released.
// Lifetime as Relay's: frees itself once nothing is in flight and it has detached from its
// tunnel. Runs on one worker thread.
#include <memory>

#include "daemon/base/fd.hpp"
#include "daemon/io/op.hpp"
#include "daemon/io/timer_queue.hpp"
#include "daemon/proxy/relay.hpp"
#include "daemon/proxy/relay_stats.hpp"
#include "daemon/proxy/tunnel_pool.hpp"

namespace mesh::proxy {

class StreamRelay final : public Flow, public StreamHandler, private TunnelPool::Waiter, private io::Timer::Handler {
 public:
  // `downstream` was accepted and counted against the budget.
  static void outbound(WorkerContext& ctx, TunnelPool& pool, std::shared_ptr<const UpstreamPolicy> policy,
                       std::shared_ptr<RelayStats> stats, base::Fd downstream,
                       std::shared_ptr<const OutboundTunnel> target);
  // A CONNECT arrived on `stream` of `conn` and was allowed: dial `upstream`, then answer.
  static void inbound(WorkerContext& ctx, TunnelConnection& conn, tunnel::hbone::StreamId stream,
                      std::shared_ptr<const UpstreamPolicy> policy, std::shared_ptr<RelayStats> stats,
                      const base::SocketAddr& upstream, std::optional<FlowAttrs> attrs = std::nullopt);

  void abort(CloseReason reason) override;
  const UpstreamPolicy& policy() const override { return *policy_; }
  void discard() override;

 private:
  enum class State : uint8_t { WaitTunnel, Opening, Dialing, Relaying, Closing };

  StreamRelay(WorkerContext& ctx, std::shared_ptr<const UpstreamPolicy> policy, std::shared_ptr<RelayStats> stats,
              base::Fd fd);
  ~StreamRelay();

  // TunnelPool::Waiter
  void on_tunnel(TunnelConnection* conn) override;
  // StreamHandler
  void on_stream_event(const tunnel::hbone::Event& event) override;
  void on_connection_lost() override;
  void on_timer(io::Timer&) override;

  void dial(const base::SocketAddr& upstream);
  void on_dial(int res, uint32_t flags);
  void on_recv(int res, uint32_t flags);
  void on_send(int res, uint32_t flags);
  void start_relaying();
  void arm_recv();
  void drain_stream();
  void check_done();
  void reject(RejectReason reason);
  void close(CloseReason reason, bool reset);
  void begin_close(bool reset);
  void maybe_finish();

  class BufferWaiter final : public io::BufferRing::Waiter {
   public:
    explicit BufferWaiter(StreamRelay& r) : r_(r) {}
    void on_buffer_available() override { r_.arm_recv(); }

   private:
    StreamRelay& r_;
  };

  WorkerContext& ctx_;
  std::shared_ptr<const UpstreamPolicy> policy_;
  std::shared_ptr<RelayStats> stats_;
  base::Fd fd_;
  TunnelPool* pool_ = nullptr;  // outbound: the pool that counted our stream
  TunnelConnection* conn_ = nullptr;
  tunnel::hbone::StreamId stream_ = 0;
  std::shared_ptr<const OutboundTunnel> target_;
  union {
    sockaddr_in v4;
    sockaddr_in6 v6;
  } upstream_sa_{};
  io::MemberOp<StreamRelay, &StreamRelay::on_dial> dial_op_{this};
  io::MemberOp<StreamRelay, &StreamRelay::on_recv> recv_op_{this};
  io::MemberOp<StreamRelay, &StreamRelay::on_send> send_op_{this};
  io::Timer timer_{this};
  BufferWaiter waiter_{*this};
  base::MonoTime last_activity_{};
  size_t sending_ = 0;     // bytes of the stream's buffer in an io_uring send
  uint16_t inflight_ = 0;
  State state_ = State::WaitTunnel;
  bool outbound_ = false;
  bool recv_armed_ = false;
  bool paused_ = false;     // the stream's send buffer is full
  bool sock_eof_ = false;   // the socket reached EOF (we sent END_STREAM)
  bool sock_shut_ = false;  // the peer ended the stream and we shut the socket's write side
  bool stream_closed_ = false;  // nghttp2 closed the stream (both ends sent, or a reset)
  bool linger_ = false;         // closing: let a queued answer out before releasing the stream
  bool finished_ = false;
  bool rejected_ = false;
  RejectReason reject_reason_ = RejectReason::TunnelFailed;
  CloseReason close_reason_ = CloseReason::Normal;
};

}  // namespace mesh::proxy
