#pragma once
// TunnelConnection: one HBONE connection on a worker — a TCP socket, its TLS 1.3 session and
// the HTTP/2 engine on top (HboneClient when we dialled, HboneServer when we accepted on
// 15008). It moves bytes: io_uring receives of ciphertext into provided buffers, decrypted
// into the worker's scratch buffer and parsed at once; HTTP/2 frames sealed into TLS records
// and sent with sendmsg straight from the session's output queue (bytes stay put until the
// send completes). Events on a stream go to the StreamHandler attached to it; a CONNECT on a
// server connection goes to the RequestFn. pump() schedules one flush per loop iteration, so
// many small writes coalesce into full 16 KiB records.
//
// Lifetime: the connection owns itself. close() tells every attached handler, cancels its
// own I/O, and frees itself once no op is in flight and every handler has detached (a
// handler may have a send in flight that points into a stream's receive buffer). Runs on
// one worker thread.
#include <sys/socket.h>
#include <sys/uio.h>

#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "daemon/base/counter.hpp"
#include "daemon/base/fd.hpp"
#include "daemon/io/op.hpp"
#include "daemon/io/socket.hpp"
#include "daemon/io/timer_queue.hpp"
#include "daemon/proxy/worker_context.hpp"
#include "tunnel/hbone/tls_sink.hpp"
#include "tunnel/hbone/hbone_client.hpp"
#include "tunnel/hbone/hbone_server.hpp"
#include "tunnel/tls/tls_session.hpp"

namespace mesh::proxy {

// Per worker, read by the metrics scrape.
struct TunnelStats {
  std::array<base::Counter, 2> opened;  // [0] dialled (client), [1] accepted (server)
  std::array<base::Gauge, 2> active;
  std::array<base::Counter, tunnel::kTlsFailureCount> tls_failures;
  std::array<base::Counter, tunnel::http::kConnectionFailureCount> h2_failures;
  std::array<base::Counter, tunnel::hbone::kStreamRejectCount> stream_rejects;
  base::Counter dial_failures;     // TCP connect to a peer's 15008 failed or timed out
  base::Counter bytes_sent;        // ciphertext
  base::Counter bytes_received;
  base::Counter handoffs;          // node-local tunnels accepted here and served by another worker
};

class TunnelConnection;

class StreamHandler {
 public:
  virtual void on_stream_event(const tunnel::http::Event& event) = 0;
  // The connection is going away: stop touching the stream and detach() once no op of
  // yours points into its buffers.
  virtual void on_connection_lost() = 0;

 protected:
  ~StreamHandler() = default;
};

class TunnelConnection final : public base::IntrusiveListNode<TunnelConnection>, private io::Timer::Handler {
 public:
  enum class Role : uint8_t { Client, Server };
  // Client: the TLS handshake finished (ok) or the dial/handshake failed (!ok).
  using ReadyFn = std::function<void(TunnelConnection&, bool ok)>;
  // Server: a CONNECT request arrived on `stream`; answer it through server().
  using RequestFn = std::function<void(TunnelConnection&, tunnel::http::StreamId stream)>;
  // The connection is finished and about to be freed.
  using GoneFn = std::function<void(TunnelConnection&)>;

  struct DialSpec {
    base::SocketAddr peer;  // pod-ip:15008
    io::DialOptions dial;   // inside the source workload's netns, marked
    std::shared_ptr<base::Fd> netns;  // keeps dial.netns_fd open
    base::Duration timeout = std::chrono::seconds(10);  // TCP connect + TLS handshake
  };

  static TunnelConnection* dial(WorkerContext& ctx, TunnelStats& stats, std::shared_ptr<const tunnel::TlsContext> tls,
                                std::vector<tunnel::SpiffeId> expected, const DialSpec& spec, ReadyFn ready, GoneFn gone);
  // The two addresses of an accepted socket, when the caller has read them already.
  struct SocketEnds {
    base::SocketAddr local, remote;
  };
  static TunnelConnection* accept(WorkerContext& ctx, TunnelStats& stats, std::shared_ptr<const tunnel::TlsContext> tls,
                                  base::Fd fd, const std::optional<SocketEnds>& ends, RequestFn on_request, GoneFn gone);

  TunnelConnection(const TunnelConnection&) = delete;
  TunnelConnection& operator=(const TunnelConnection&) = delete;

  Role role() const { return role_; }
  tunnel::http::H2Connection& h2() { return *h2_; }
  tunnel::hbone::HboneClient& client() { return static_cast<tunnel::hbone::HboneClient&>(*h2_); }
  tunnel::hbone::HboneServer& server() { return static_cast<tunnel::hbone::HboneServer&>(*h2_); }
  const tunnel::SpiffeId& peer_identity() const { return tls_->peer_identity(); }
  // Established, not closing and not going away: may take new streams.
  bool usable() const;
  const base::SocketAddr& local_address() const { return local_; }
  const base::SocketAddr& remote_address() const { return remote_; }

  void attach(tunnel::http::StreamId stream, StreamHandler* handler);
  // The handler is done with the stream (releases it; resets it if still open).
  void detach(tunnel::http::StreamId stream);
  // Flushes HTTP/2 and TLS output to the socket once this loop iteration.
  void pump();
  // Graceful: GOAWAY, let open streams finish. Used for idle pooled connections and drain.
  void drain();
  // Immediate: tell handlers, cancel I/O.
  void close();
  // The loop has stopped for good (daemon exit): free now, touching no handler.
  void discard();
  // What this connection serves (an accepted one: its listener's dial profile), so that removing
  // the listener can close it.
  void set_owner(const void* owner) { owner_ = owner; }
  const void* owner() const { return owner_; }

 private:
  TunnelConnection(WorkerContext& ctx, TunnelStats& stats, Role role, std::shared_ptr<const tunnel::TlsContext> tls,
                   GoneFn gone);
  ~TunnelConnection();
  base::Status init(std::vector<tunnel::SpiffeId> expected);
  void start_connect(const DialSpec& spec);
  void register_local();
  void on_connect(int res, uint32_t flags);
  void on_recv(int res, uint32_t flags);
  void on_send(int res, uint32_t flags);
  void on_timer(io::Timer& timer) override;
  void established();
  void feed(std::span<const uint8_t> ciphertext);
  void dispatch_events();
  void flush_now();
  void arm_recv();
  void fail_tls();
  void count_h2_failure();  // once per connection, whenever the HTTP/2 layer reports one
  void maybe_finish();
  void op_done();

  class BufferWaiter final : public io::BufferRing::Waiter {
   public:
    explicit BufferWaiter(TunnelConnection& c) : c_(c) {}
    void on_buffer_available() override { c_.arm_recv(); }

   private:
    TunnelConnection& c_;
  };

  WorkerContext& ctx_;
  TunnelStats& stats_;
  Role role_;
  std::shared_ptr<const tunnel::TlsContext> tls_ctx_;
  std::unique_ptr<tunnel::TlsSession> tls_;
  std::unique_ptr<tunnel::hbone::TlsSink> sink_;
  std::unique_ptr<tunnel::http::H2Connection> h2_;
  std::unordered_map<tunnel::http::StreamId, StreamHandler*> handlers_;
  ReadyFn ready_;
  RequestFn on_request_;
  GoneFn gone_;
  base::Fd fd_;
  std::shared_ptr<base::Fd> netns_;
  const void* owner_ = nullptr;
  base::SocketAddr local_;
  base::SocketAddr remote_;
  uint16_t registered_port_ = 0;  // in LocalTunnels (a client that dialled with a bound port)
  sockaddr_storage peer_sa_{};
  io::MemberOp<TunnelConnection, &TunnelConnection::on_connect> connect_op_{this};
  io::MemberOp<TunnelConnection, &TunnelConnection::on_recv> recv_op_{this};
  io::MemberOp<TunnelConnection, &TunnelConnection::on_send> send_op_{this};
  io::Timer timer_{this};
  BufferWaiter waiter_{*this};
  static constexpr size_t kMaxIov = 16;
  iovec iov_[kMaxIov]{};
  msghdr msg_{};
  size_t sending_ = 0;
  uint16_t inflight_ = 0;
  bool connected_ = false;
  bool handshake_done_ = false;
  bool recv_armed_ = false;
  bool pump_scheduled_ = false;
  bool closing_ = false;   // no more reads: close once the output is flushed
  bool closed_ = false;    // handlers told, I/O cancelled; freed when nothing is in flight
  bool finished_ = false;
  bool h2_failure_counted_ = false;
};

}  // namespace mesh::proxy
