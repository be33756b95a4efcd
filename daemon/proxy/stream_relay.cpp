#include "daemon/proxy/stream_relay.hpp"

#include <cerrno>
#include <cstring>
#include <random>

#include <fmt/format.h>

#include "daemon/base/log.hpp"
#include "daemon/io/socket.hpp"

namespace mesh::proxy {

namespace hbone = tunnel::hbone;

namespace {

// A fresh W3C traceparent per tunnelled connection, as ztunnel sends: it correlates one
// connection across both nodes' logs (version 00, random ids, not sampled).
std::string new_traceparent() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("00-{:016x}{:016x}-{:016x}-00", rng(), rng(), rng() | 1);
}

// How long a refused stream may take to get its answer out before it is reset.
constexpr base::Duration kLinger = std::chrono::seconds(5);

RejectReason reject_for_status(uint32_t status) {
  if (status == 401 || status == 403) return RejectReason::Denied;
  if (status == 503) return RejectReason::PeerUnavailable;
  return RejectReason::TunnelFailed;
}

}  // namespace

StreamRelay::StreamRelay(WorkerContext& ctx, std::shared_ptr<const UpstreamPolicy> policy,
                         std::shared_ptr<RelayStats> stats, base::Fd fd)
    : ctx_(ctx), policy_(std::move(policy)), stats_(std::move(stats)), fd_(std::move(fd)) {
  ctx_.flows.push_back(*this);
  stats_->active.add(1);
}

StreamRelay::~StreamRelay() { ctx_.flows.remove(*this); }

void StreamRelay::outbound(WorkerContext& ctx, TunnelPool& pool, std::shared_ptr<const UpstreamPolicy> policy,
                           std::shared_ptr<RelayStats> stats, base::Fd downstream,
                           std::shared_ptr<const OutboundTunnel> target) {
  auto* r = new StreamRelay(ctx, std::move(policy), std::move(stats), std::move(downstream));
  r->outbound_ = true;
  r->pool_ = &pool;
  r->target_ = std::move(target);
  io::set_nodelay(r->fd_.get());
  ctx.loop.schedule_after(r->timer_, r->policy_->connect_timeout);
  pool.acquire(r->target_, r->policy_, *r);  // may answer at once
}

void StreamRelay::inbound(WorkerContext& ctx, TunnelConnection& conn, hbone::StreamId stream,
                          std::shared_ptr<const UpstreamPolicy> policy, std::shared_ptr<RelayStats> stats,
                          const base::SocketAddr& upstream, std::optional<FlowAttrs> attrs) {
  if (!ctx.budget.try_acquire()) {
    stats->reject(RejectReason::ConnectionLimit);
    (void)conn.server().respond(stream, 503);
    conn.pump();
    return;
  }
  auto* r = new StreamRelay(ctx, std::move(policy), std::move(stats), base::Fd());
  r->attrs_ = std::move(attrs);
  r->conn_ = &conn;
  r->stream_ = stream;
  r->state_ = State::Dialing;
  conn.attach(stream, r);
  r->dial(upstream);
}

// --- setting up ------------------------------------------------------------------------

void StreamRelay::on_tunnel(TunnelConnection* conn) {
  if (state_ != State::WaitTunnel) {
    if (conn != nullptr) pool_->release_stream(*conn);
    return;
  }
  if (conn == nullptr) return reject(RejectReason::TunnelFailed);
  hbone::ConnectRequest req;
  req.authority = target_->authority;
  req.traceparent = new_traceparent();
  if (auto peer = io::peer_address(fd_.get())) req.forwarded = fmt::format("for=\"{}\"", peer->to_string());
  auto id = conn->client().open(req);
  if (!id) {
    pool_->release_stream(*conn);
    return reject(RejectReason::TunnelFailed);
  }
  conn_ = conn;
  stream_ = *id;
  conn_->attach(stream_, this);
  state_ = State::Opening;
  conn_->pump();
}

void StreamRelay::dial(const base::SocketAddr& upstream) {
  auto sock = upstream_socket(*policy_, upstream);
  if (!sock) {
    base::log::warn("failed to create a socket to {} for '{}': {}", upstream.to_string(), policy_->name,
                    sock.error().message());
    (void)conn_->server().respond(stream_, 503);
    conn_->pump();
    linger_ = true;
    return reject(RejectReason::UpstreamError);
  }
  fd_ = std::move(*sock);
  io::set_nodelay(fd_.get());
  sockaddr_storage ss;
  socklen_t len = upstream.to_sockaddr(ss);
  std::memcpy(&upstream_sa_, &ss, len);
  ++inflight_;
  ctx_.loop.connect(dial_op_, fd_.get(), reinterpret_cast<const sockaddr*>(&upstream_sa_), len);
  ctx_.loop.schedule_after(timer_, policy_->connect_timeout);
}

void StreamRelay::on_dial(int res, uint32_t) {
  --inflight_;
  if (state_ == State::Closing) return maybe_finish();
  if (res < 0) {
    (void)conn_->server().respond(stream_, 503);
    conn_->pump();
    linger_ = true;  // nghttp2 ends the stream once the 503 is out
    return reject(reject_for_connect_error(-res));
  }
  (void)conn_->server().respond(stream_, 200);
  start_relaying();
}

void StreamRelay::start_relaying() {
  state_ = State::Relaying;
  stats_->opened.inc();
  last_activity_ = ctx_.loop.now();
  ctx_.loop.schedule_after(timer_, policy_->idle_timeout);
  arm_recv();
  drain_stream();
}

void StreamRelay::on_timer(io::Timer&) {
  switch (state_) {
    case State::WaitTunnel:
    case State::Opening:
      return reject(RejectReason::TunnelFailed);
    case State::Dialing:
      ctx_.loop.cancel_op(dial_op_);  // completes with -ECANCELED: a timeout, answered 503
      return;
    case State::Relaying: {
      auto idle_until = last_activity_ + policy_->idle_timeout;
      if (ctx_.loop.now() >= idle_until) return close(CloseReason::IdleTimeout, true);
      ctx_.loop.schedule(timer_, idle_until);
      return;
    }
    case State::Closing:
      // A lingering answer did not get out in time (the tunnel is stuck): give up on it.
      linger_ = false;
      if (conn_ != nullptr) conn_->h2().reset(stream_, 8 /* CANCEL */);
      return maybe_finish();
  }
}

// --- the stream's side -----------------------------------------------------------------

void StreamRelay::on_stream_event(const hbone::Event& ev) {
  switch (ev.kind) {
    case hbone::EventKind::Response:
      if (state_ != State::Opening) return;
      if (ev.code == 200) return start_relaying();
      return reject(reject_for_status(ev.code));
    case hbone::EventKind::Data:
    case hbone::EventKind::PeerEnd:
      return drain_stream();
    case hbone::EventKind::Writable:
      paused_ = false;
      return arm_recv();
    case hbone::EventKind::Closed:
      stream_closed_ = true;
      if (state_ == State::Closing) return maybe_finish();  // a lingering answer is out
      if (state_ == State::Opening || state_ == State::Dialing) return reject(RejectReason::TunnelFailed);
      if (ev.code != 0) {
        // The remote side reset its end: reset ours. Outbound, that remote side is the upstream.
        return close(outbound_ ? CloseReason::UpstreamReset : CloseReason::DownstreamReset, true);
      }
      drain_stream();
      return check_done();
    default:
      return;
  }
}

void StreamRelay::on_connection_lost() {
  // The tunnel is going away: no more stream calls. Detach once our ops have drained.
  stream_closed_ = true;
  linger_ = false;
  if (state_ == State::Closing) return maybe_finish();
  if (state_ == State::Opening || state_ == State::Dialing || state_ == State::WaitTunnel) {
    return reject(RejectReason::TunnelFailed);
  }
  close(CloseReason::TunnelLost, true);
}

void StreamRelay::drain_stream() {
  if (sending_ > 0 || state_ != State::Relaying || conn_ == nullptr) return;
  hbone::H2Connection& h2 = conn_->h2();
  auto& counter = outbound_ ? stats_->bytes_to_downstream : stats_->bytes_to_upstream;
  for (;;) {
    std::span<const uint8_t> bytes = h2.peek(stream_);
    if (bytes.empty()) break;
    ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        bool reset = errno == ECONNRESET || errno == EPIPE;
        return close(outbound_ ? CloseReason::DownstreamReset : CloseReason::UpstreamReset, reset);
      }
      n = 0;
    }
    if (n > 0) {
      h2.consume(stream_, static_cast<size_t>(n));
      counter.inc(static_cast<uint64_t>(n));
      last_activity_ = ctx_.loop.now();
    }
    if (static_cast<size_t>(n) < bytes.size()) {
      // The socket is full: send the rest from where it lies; it stays put until consumed.
      sending_ = bytes.size() - static_cast<size_t>(n);
      ++inflight_;
      ctx_.loop.send(send_op_, fd_.get(), bytes.data() + n, sending_);
      conn_->pump();
      return;
    }
  }
  conn_->pump();  // window updates for what was consumed
  if (h2.peer_ended(stream_) && h2.readable(stream_) == 0 && !sock_shut_) {
    ::shutdown(fd_.get(), SHUT_WR);
    sock_shut_ = true;
    check_done();
  }
}

void StreamRelay::on_send(int res, uint32_t) {
  --inflight_;
  sending_ = 0;
  if (state_ == State::Relaying) {
    if (res > 0) {
      conn_->h2().consume(stream_, static_cast<size_t>(res));
      (outbound_ ? stats_->bytes_to_downstream : stats_->bytes_to_upstream).inc(static_cast<uint64_t>(res));
      last_activity_ = ctx_.loop.now();
      drain_stream();
    } else if (res != -ECANCELED) {
      bool reset = res == -ECONNRESET || res == -EPIPE;
      close(outbound_ ? CloseReason::DownstreamReset : CloseReason::UpstreamReset, reset);
    }
  }
  maybe_finish();
}

// --- the socket's side -----------------------------------------------------------------

void StreamRelay::arm_recv() {
  if (recv_armed_ || sock_eof_ || paused_ || state_ != State::Relaying) return;
  recv_armed_ = true;
  ++inflight_;
  ctx_.loop.recv_provided(recv_op_, fd_.get(), ctx_.buffers.group());
}

void StreamRelay::on_recv(int res, uint32_t flags) {
  recv_armed_ = false;
  --inflight_;
  if (res > 0) {
    uint16_t bid = io::BufferRing::buffer_id(flags);
    auto data = ctx_.buffers.take(bid, static_cast<size_t>(res));
    if (state_ == State::Relaying) {
      last_activity_ = ctx_.loop.now();
      bool more = conn_->h2().write(stream_, data);  // copied into the stream's send buffer
      (outbound_ ? stats_->bytes_to_upstream : stats_->bytes_to_downstream).inc(static_cast<uint64_t>(res));
      conn_->pump();
      paused_ = !more;
    }
    ctx_.buffers.recycle(bid);
    arm_recv();
  } else if (res == 0) {
    sock_eof_ = true;
    if (state_ == State::Relaying) {
      conn_->h2().close_write(stream_);
      conn_->pump();
      check_done();
    }
  } else if (res == -ENOBUFS) {
    ctx_.stats.buffer_waits.inc();
    if (ctx_.buffers.in_use() > 0) ctx_.buffers.wait(waiter_);
    else ctx_.loop.defer([this] { arm_recv(); });
  } else if (res != -ECANCELED) {
    bool reset = res == -ECONNRESET;
    close(outbound_ ? CloseReason::DownstreamReset : CloseReason::UpstreamReset, reset);
  }
  maybe_finish();
}

// --- ending ----------------------------------------------------------------------------

void StreamRelay::check_done() {
  // Both directions of the socket are finished; the stream is finished once nghttp2 has sent
  // our END_STREAM after every queued byte (its Closed event), not before.
  if (sock_eof_ && sock_shut_ && stream_closed_) close(CloseReason::Normal, false);
}

void StreamRelay::reject(RejectReason reason) {
  if (state_ == State::Closing) return;
  rejected_ = true;
  reject_reason_ = reason;
  begin_close(outbound_);  // the application's connection is reset: it fails fast
}

void StreamRelay::close(CloseReason reason, bool reset) {
  if (state_ == State::Closing) return;
  close_reason_ = reason;
  begin_close(reset);
}

void StreamRelay::abort(CloseReason reason) {
  if (state_ == State::Closing && linger_) {  // drain deadline, unenroll: stop waiting for the answer
    linger_ = false;
    if (conn_ != nullptr) conn_->h2().reset(stream_, 8 /* CANCEL */);
    return maybe_finish();
  }
  close(reason, true);
}

void StreamRelay::begin_close(bool reset) {
  if (state_ == State::WaitTunnel && pool_ != nullptr) pool_->cancel(*this);
  state_ = State::Closing;
  ctx_.loop.cancel(timer_);
  ctx_.buffers.cancel_wait(waiter_);
  if (reset && conn_ != nullptr) conn_->h2().reset(stream_, 8 /* CANCEL */);
  if (reset && fd_) io::set_reset_on_close(fd_.get());
  if (inflight_ > 0 && fd_) ctx_.loop.cancel_fd(fd_.get());
  if (reset) linger_ = false;
  if (linger_ && !stream_closed_) ctx_.loop.schedule_after(timer_, kLinger);
  maybe_finish();
}

void StreamRelay::maybe_finish() {
  if (state_ != State::Closing || inflight_ > 0 || finished_) return;
  if (linger_ && !stream_closed_) return;  // the Closed event (or the linger timer) comes back here
  finished_ = true;
  if (conn_ != nullptr) {
    if (pool_ != nullptr) pool_->release_stream(*conn_);
    conn_->detach(stream_);  // releases the stream (resets it if still open)
    conn_ = nullptr;
  }
  if (rejected_) stats_->reject(reject_reason_);
  else stats_->close(close_reason_);
  fd_.reset();
  ctx_.budget.release();
  stats_->active.add(-1);
  ctx_.loop.defer([this] { delete this; });
}

void StreamRelay::discard() {
  ctx_.buffers.cancel_wait(waiter_);
  if (!finished_) {
    ctx_.budget.release();
    stats_->active.add(-1);
  }
  delete this;
}

}  // namespace mesh::proxy
