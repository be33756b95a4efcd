#include "daemon/proxy/relay.hpp"

#include <cerrno>
#include <cstring>

#include "daemon/base/check.hpp"
#include "daemon/base/log.hpp"
#include "daemon/io/socket.hpp"

namespace mesh::proxy {

base::Result<base::Fd> upstream_socket(const UpstreamPolicy& policy, const base::SocketAddr& upstream) {
  io::DialOptions dial;
  dial.netns_fd = policy.netns ? policy.netns->get() : -1;
  dial.mark = policy.mark;
  const auto& source = upstream.ip().is_v4() ? policy.source_v4 : policy.source_v6;
  if (source) dial.bind_source = &*source;
  return io::tcp_socket(upstream, dial);
}

RejectReason reject_for_connect_error(int err) {
  switch (err) {
    case ECONNREFUSED: return RejectReason::UpstreamRefused;
    case ENETUNREACH: case EHOSTUNREACH: case EADDRNOTAVAIL: return RejectReason::UpstreamUnreachable;
    case ECANCELED: case ETIMEDOUT: return RejectReason::UpstreamTimeout;
    default: return RejectReason::UpstreamError;
  }
}

void Relay::start(WorkerContext& ctx, std::shared_ptr<const UpstreamPolicy> policy, std::shared_ptr<RelayStats> stats,
                  base::Fd downstream, const base::SocketAddr& upstream, std::optional<FlowAttrs> attrs) {
  auto* relay = new Relay(ctx, std::move(policy), std::move(stats), std::move(downstream));
  relay->attrs_ = std::move(attrs);
  relay->connect(upstream);
}

Relay::Relay(WorkerContext& ctx, std::shared_ptr<const UpstreamPolicy> policy, std::shared_ptr<RelayStats> stats,
             base::Fd downstream)
    : ctx_(ctx), policy_(std::move(policy)), stats_holder_(std::move(stats)), stats_(*stats_holder_),
      down_(std::move(downstream)) {
  ctx_.flows.push_back(*this);
  stats_.active.add(1);
}

Relay::~Relay() { ctx_.flows.remove(*this); }

void Relay::connect(const base::SocketAddr& upstream) {
  auto sock = upstream_socket(*policy_, upstream);
  if (!sock) {
    base::log::warn("failed to create upstream socket for '{}' to {}: {}", policy_->name, upstream.to_string(),
                    sock.error().message());
    return reject(RejectReason::UpstreamError);
  }
  up_ = std::move(*sock);
  io::set_nodelay(up_.get());
  io::set_nodelay(down_.get());
  sockaddr_storage ss;
  socklen_t len = upstream.to_sockaddr(ss);
  std::memcpy(&upstream_sa_, &ss, len);
  ++inflight_;
  ctx_.loop.connect(connect_op_, up_.get(), reinterpret_cast<const sockaddr*>(&upstream_sa_), len);
  ctx_.loop.schedule_after(timer_, policy_->connect_timeout);
}

void Relay::on_connect(int res, uint32_t) {
  --inflight_;
  if (state_ == State::Closing) return maybe_finish();
  if (res < 0) return reject(reject_for_connect_error(-res));
  state_ = State::Relaying;
  stats_.opened.inc();
  last_activity_ = ctx_.loop.now();
  ctx_.loop.schedule_after(timer_, policy_->idle_timeout);
  to_up_.attach(down_.get(), up_.get());
  to_down_.attach(up_.get(), down_.get());
  to_up_.arm_recv();
  to_down_.arm_recv();
}

void Relay::on_timer(io::Timer&) {
  if (state_ == State::Connecting) {
    // The connect completes with -ECANCELED and is counted as a timeout.
    ctx_.loop.cancel_op(connect_op_);
    return;
  }
  if (state_ != State::Relaying) return;
  auto idle_until = last_activity_ + policy_->idle_timeout;
  if (ctx_.loop.now() >= idle_until) return close(CloseReason::IdleTimeout);
  ctx_.loop.schedule(timer_, idle_until);  // activity since arming: re-arm for the remainder
}

void Relay::reject(RejectReason reason) {
  rejected_ = true;
  reject_reason_ = reason;
  begin_close(false);
}

void Relay::close(CloseReason reason, bool reset) {
  if (state_ == State::Closing) return;
  close_reason_ = reason;
  begin_close(reset);
}

void Relay::abort(CloseReason reason) { close(reason, true); }

void Relay::discard() {
  to_up_.stop_waiting();
  to_down_.stop_waiting();
  to_up_.release_buffers();
  to_down_.release_buffers();
  if (!finished_) {
    ctx_.budget.release();
    stats_.active.add(-1);
  }
  delete this;
}

void Relay::begin_close(bool reset) {
  state_ = State::Closing;
  ctx_.loop.cancel(timer_);
  to_up_.stop_waiting();
  to_down_.stop_waiting();
  if (reset) {
    io::set_reset_on_close(down_.get());
    if (up_) io::set_reset_on_close(up_.get());
  }
  if (inflight_ > 0) {
    ctx_.loop.cancel_fd(down_.get());
    if (up_) ctx_.loop.cancel_fd(up_.get());
  }
  maybe_finish();
}

void Relay::op_done() {
  MESH_CHECK(inflight_ > 0);
  --inflight_;
  if (state_ == State::Closing) maybe_finish();
}

void Relay::maybe_finish() {
  if (state_ != State::Closing || inflight_ > 0 || finished_) return;
  finished_ = true;
  to_up_.release_buffers();
  to_down_.release_buffers();
  if (rejected_) stats_.reject(reject_reason_);
  else stats_.close(close_reason_);
  down_.reset();
  up_.reset();
  ctx_.budget.release();
  stats_.active.add(-1);
  ctx_.loop.defer([this] { delete this; });
}

void Relay::check_done() {
  if (to_up_.shut() && to_down_.shut()) close(CloseReason::Normal);
}

// --- Pipe: one direction ---------------------------------------------------------------

void Relay::Pipe::arm_recv() {
  if (recv_armed_ || eof_ || pending_ || relay_.state_ != State::Relaying) return;
  recv_armed_ = true;
  ++relay_.inflight_;
  relay_.ctx_.loop.recv_provided(recv_op_, from_fd_, relay_.ctx_.buffers.group());
}

void Relay::Pipe::on_recv(int res, uint32_t flags) {
  recv_armed_ = false;
  if (res > 0) {
    uint16_t bid = io::BufferRing::buffer_id(flags);
    auto data = relay_.ctx_.buffers.take(bid, static_cast<size_t>(res));
    if (relay_.state_ == State::Relaying) {
      relay_.last_activity_ = relay_.ctx_.loop.now();
      forward(data.data(), data.size());
    }
    relay_.ctx_.buffers.recycle(bid);
  } else if (res == 0) {
    eof_ = true;
    maybe_shutdown();
  } else if (res == -ENOBUFS) {
    relay_.ctx_.stats.buffer_waits.inc();
    if (relay_.ctx_.buffers.in_use() > 0) relay_.ctx_.buffers.wait(*this);
    else relay_.ctx_.loop.defer([this] { arm_recv(); });
  } else if (res != -ECANCELED) {
    fail(-res, false);
  }
  relay_.op_done();
}

void Relay::Pipe::forward(const uint8_t* data, size_t len) {
  ssize_t n = ::send(to_fd_, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) return fail(errno, true);
    n = 0;
  }
  auto& bytes = to_upstream_ ? relay_.stats_.bytes_to_upstream : relay_.stats_.bytes_to_downstream;
  bytes.inc(static_cast<uint64_t>(n));
  if (static_cast<size_t>(n) == len) return arm_recv();
  // The destination is full: keep the rest privately so the pool buffer goes back now.
  pending_len_ = static_cast<uint32_t>(len - static_cast<size_t>(n));
  pending_off_ = 0;
  pending_.reset(new uint8_t[pending_len_]);
  std::memcpy(pending_.get(), data + n, pending_len_);
  relay_.ctx_.stats.stalled_sends.inc();
  send_pending();
}

void Relay::Pipe::send_pending() {
  send_armed_ = true;
  ++relay_.inflight_;
  relay_.ctx_.loop.send(send_op_, to_fd_, pending_.get() + pending_off_, pending_len_ - pending_off_);
}

void Relay::Pipe::on_send(int res, uint32_t) {
  send_armed_ = false;
  if (res > 0) {
    pending_off_ += static_cast<uint32_t>(res);
    (to_upstream_ ? relay_.stats_.bytes_to_upstream : relay_.stats_.bytes_to_downstream).inc(static_cast<uint64_t>(res));
    relay_.last_activity_ = relay_.ctx_.loop.now();
    if (relay_.state_ == State::Relaying) {
      if (pending_off_ < pending_len_) {
        send_pending();
      } else {
        pending_.reset();
        arm_recv();
        maybe_shutdown();
      }
    }
  } else if (res != -ECANCELED) {
    fail(res == 0 ? EPIPE : -res, true);
  }
  relay_.op_done();
}

void Relay::Pipe::fail(int err, bool sending) {
  bool reset = err == ECONNRESET || err == EPIPE;
  if (!reset) return relay_.close(CloseReason::Error, false);
  // A receive error is the source's doing, a send error the destination's.
  bool upstream_side = sending ? to_upstream_ : !to_upstream_;
  relay_.close(upstream_side ? CloseReason::UpstreamReset : CloseReason::DownstreamReset, true);
}

void Relay::Pipe::maybe_shutdown() {
  if (!eof_ || shut_ || pending_ || relay_.state_ != State::Relaying) return;
  ::shutdown(to_fd_, SHUT_WR);
  shut_ = true;
  relay_.check_done();
}

void Relay::Pipe::on_buffer_available() { arm_recv(); }

void Relay::Pipe::stop_waiting() { relay_.ctx_.buffers.cancel_wait(*this); }

void Relay::Pipe::release_buffers() {
  pending_.reset();
  pending_len_ = pending_off_ = 0;
}

}  // namespace mesh::proxy
