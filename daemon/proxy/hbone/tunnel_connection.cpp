#include "daemon/proxy/hbone/tunnel_connection.hpp"

#include <cerrno>
#include <cstring>

#include "daemon/base/clock.hpp"
#include "daemon/base/log.hpp"
#include "daemon/proxy/hbone/local_tunnels.hpp"

namespace mesh::proxy {

using namespace std::chrono_literals;
namespace hbone = tunnel::hbone;
namespace http = tunnel::http;

namespace {
constexpr size_t kMaxSendBytes = 1 << 20;  // per sendmsg
constexpr base::Duration kHandshakeTimeout = 10s;
}  // namespace

TunnelConnection::TunnelConnection(WorkerContext& ctx, TunnelStats& stats, Role role,
                                   std::shared_ptr<const tunnel::TlsContext> tls, GoneFn gone)
    : ctx_(ctx), stats_(stats), role_(role), tls_ctx_(std::move(tls)), gone_(std::move(gone)) {
  size_t r = role_ == Role::Client ? 0 : 1;
  stats_.opened[r].inc();
  stats_.active[r].add(1);
  ctx_.tunnels.push_back(*this);
}

TunnelConnection::~TunnelConnection() {
  if (registered_port_ != 0) ctx_.local_tunnels->closed(remote_, registered_port_);
  ctx_.tunnels.remove(*this);
}

void TunnelConnection::discard() {
  if (!finished_) stats_.active[role_ == Role::Client ? 0 : 1].add(-1);
  ctx_.buffers.cancel_wait(waiter_);
  delete this;
}

base::Status TunnelConnection::init(std::vector<tunnel::SpiffeId> expected) {
  auto session = role_ == Role::Client ? tunnel::TlsSession::client(tls_ctx_, std::move(expected))
                                       : tunnel::TlsSession::server(tls_ctx_);
  if (!session) return base::fail(session.error());
  tls_ = std::make_unique<tunnel::TlsSession>(std::move(*session));
  sink_ = std::make_unique<hbone::TlsSink>(*tls_);
  const base::Clock& clock = base::SystemClock::instance();
  if (role_ == Role::Client) {
    auto c = hbone::HboneClient::create(*sink_, clock);
    if (!c) return base::fail(c.error());
    h2_ = std::move(*c);
  } else {
    auto s = hbone::HboneServer::create(*sink_, clock);
    if (!s) return base::fail(s.error());
    h2_ = std::move(*s);
  }
  return base::ok();
}

TunnelConnection* TunnelConnection::dial(WorkerContext& ctx, TunnelStats& stats,
                                         std::shared_ptr<const tunnel::TlsContext> tls,
                                         std::vector<tunnel::SpiffeId> expected, const DialSpec& spec, ReadyFn ready,
                                         GoneFn gone) {
  auto* c = new TunnelConnection(ctx, stats, Role::Client, std::move(tls), std::move(gone));
  c->ready_ = std::move(ready);
  c->netns_ = spec.netns;
  if (auto st = c->init(std::move(expected)); !st) {
    base::log::warn("failed to start an HBONE connection to {}: {}", spec.peer.to_string(), st.error().message());
    ctx.loop.defer([c] { c->close(); });  // the caller learns through ready(false), not from inside dial()
    return c;
  }
  c->start_connect(spec);
  return c;
}

TunnelConnection* TunnelConnection::accept(WorkerContext& ctx, TunnelStats& stats,
                                           std::shared_ptr<const tunnel::TlsContext> tls, base::Fd fd,
                                           const std::optional<SocketEnds>& ends, RequestFn on_request, GoneFn gone) {
  auto* c = new TunnelConnection(ctx, stats, Role::Server, std::move(tls), std::move(gone));
  c->on_request_ = std::move(on_request);
  c->fd_ = std::move(fd);
  c->connected_ = true;
  if (ends) {
    c->local_ = ends->local;
    c->remote_ = ends->remote;
  } else {
    if (auto local = io::local_address(c->fd_.get())) c->local_ = *local;
    if (auto remote = io::peer_address(c->fd_.get())) c->remote_ = *remote;
  }
  io::set_nodelay(c->fd_.get());
  if (auto st = c->init({}); !st) {
    base::log::warn("failed to start an HBONE server connection: {}", st.error().message());
    c->close();
    return nullptr;
  }
  ctx.loop.schedule_after(c->timer_, kHandshakeTimeout);  // a silent client is closed
  c->arm_recv();
  return c;
}

void TunnelConnection::start_connect(const DialSpec& spec) {
  auto sock = io::tcp_socket(spec.peer, spec.dial);
  if (!sock) {
    stats_.dial_failures.inc();
    base::log::warn("failed to dial HBONE peer {}: {}", spec.peer.to_string(), sock.error().message());
    ctx_.loop.defer([this] { close(); });
    return;
  }
  fd_ = std::move(*sock);
  io::set_nodelay(fd_.get());
  remote_ = spec.peer;
  register_local();
  socklen_t len = spec.peer.to_sockaddr(peer_sa_);
  ++inflight_;
  ctx_.loop.connect(connect_op_, fd_.get(), reinterpret_cast<const sockaddr*>(&peer_sa_), len);
  ctx_.loop.schedule_after(timer_, spec.timeout);
}

// With more than one worker, the source port is taken now (bind to port 0) and recorded with
// this worker's index before the SYN leaves: if the peer is this daemon's own 15008, the
// accepting worker finds it there however fast it accepts. A failure only skips that.
void TunnelConnection::register_local() {
  LocalTunnels* local = ctx_.local_tunnels;
  if (local == nullptr || local->workers() < 2) return;
  sockaddr_storage any{};
  socklen_t len = base::SocketAddr(remote_.ip().is_v4() ? base::IpAddr() : base::IpAddr::v6({}), 0).to_sockaddr(any);
  if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&any), len) != 0) return;
  auto bound = io::local_address(fd_.get());
  if (!bound || bound->port() == 0) return;
  registered_port_ = bound->port();
  local->dialled(remote_, registered_port_, ctx_.index);
}

void TunnelConnection::on_connect(int res, uint32_t) {
  --inflight_;
  if (closed_) return maybe_finish();
  if (res < 0) {
    stats_.dial_failures.inc();
    base::log::debug("HBONE dial failed: {}", std::strerror(-res));
    return close();
  }
  connected_ = true;
  if (auto local = io::local_address(fd_.get())) local_ = *local;
  arm_recv();
  pump();  // ClientHello; the HTTP/2 preface follows our Finished
}

void TunnelConnection::on_timer(io::Timer&) {
  if (closing_ || handshake_done_) return;
  if (role_ == Role::Client && !connected_) {
    stats_.dial_failures.inc();
  } else {
    stats_.tls_failures[static_cast<size_t>(tunnel::TlsFailure::HandshakeFailure)].inc();
  }
  close();
}

bool TunnelConnection::usable() const {
  return handshake_done_ && !closing_ && !h2_->going_away() && h2_->failure() == http::ConnectionFailure::None;
}

void TunnelConnection::arm_recv() {
  if (recv_armed_ || closing_ || !connected_) return;
  recv_armed_ = true;
  ++inflight_;
  ctx_.loop.recv_provided(recv_op_, fd_.get(), ctx_.buffers.group());
}

void TunnelConnection::on_recv(int res, uint32_t flags) {
  recv_armed_ = false;
  --inflight_;
  if (res > 0) {
    uint16_t bid = io::BufferRing::buffer_id(flags);
    auto data = ctx_.buffers.take(bid, static_cast<size_t>(res));
    stats_.bytes_received.inc(static_cast<uint64_t>(res));
    if (!closing_) feed(data);
    ctx_.buffers.recycle(bid);
    arm_recv();
    pump();
  } else if (res == 0) {
    tls_->receive_eof();
    if (tls_->state() == tunnel::TlsState::Failed) fail_tls();
    else close();
  } else if (res == -ENOBUFS) {
    ctx_.stats.buffer_waits.inc();
    if (ctx_.buffers.in_use() > 0) ctx_.buffers.wait(waiter_);
    else ctx_.loop.defer([this] { arm_recv(); });
  } else if (res != -ECANCELED) {
    close();
  }
  maybe_finish();
}

void TunnelConnection::feed(std::span<const uint8_t> in) {
  std::span<uint8_t> scratch(ctx_.scratch.get(), WorkerContext::kScratchSize);
  while (!in.empty()) {
    auto p = tls_->receive(in, scratch);
    in = in.subspan(p.consumed);
    if (p.produced > 0) {
      if (auto st = h2_->receive(scratch.first(p.produced)); !st) {
        count_h2_failure();
        closing_ = true;  // flush the GOAWAY, then close
        break;
      }
    }
    if (tls_->state() == tunnel::TlsState::Failed) return fail_tls();
    if (p.consumed == 0 && p.produced == 0) break;
  }
  count_h2_failure();  // e.g. the peer's GOAWAY with an error code
  if (!handshake_done_ && tls_->established()) established();
  if (tls_->state() == tunnel::TlsState::PeerClosed) closing_ = true;
  dispatch_events();
}

void TunnelConnection::established() {
  handshake_done_ = true;
  ctx_.loop.cancel(timer_);
  if (role_ == Role::Client && ready_) {
    auto ready = std::move(ready_);
    ready_ = nullptr;
    ready(*this, true);
  }
}

void TunnelConnection::dispatch_events() {
  http::Event ev;
  while (h2_->next_event(ev)) {
    switch (ev.kind) {
      case http::EventKind::Request:
        if (on_request_ && !closing_) on_request_(*this, ev.stream);
        else h2_->release(ev.stream);
        break;
      case http::EventKind::StreamRejected:
        stats_.stream_rejects[ev.code < hbone::kStreamRejectCount ? ev.code : 0].inc();
        break;
      case http::EventKind::PingAck:
      case http::EventKind::GoAway:
        break;
      default: {
        auto it = handlers_.find(ev.stream);
        if (it != handlers_.end()) it->second->on_stream_event(ev);
        else if (ev.kind == http::EventKind::Closed) h2_->release(ev.stream);
      }
    }
  }
}

void TunnelConnection::count_h2_failure() {
  http::ConnectionFailure f = h2_->failure();
  if (h2_failure_counted_ || f == http::ConnectionFailure::None) return;
  h2_failure_counted_ = true;
  stats_.h2_failures[static_cast<size_t>(f)].inc();
  base::log::debug("HBONE connection failed: {} ({})", http::to_string(f), h2_->failure_detail());
}

void TunnelConnection::fail_tls() {
  stats_.tls_failures[static_cast<size_t>(tls_->failure())].inc();
  base::log::debug("HBONE TLS {} failed: {} ({})", role_ == Role::Client ? "client" : "server",
                   tunnel::to_string(tls_->failure()), tls_->failure_detail());
  closing_ = true;  // send the alert in output(), then close
  pump();
}

void TunnelConnection::attach(http::StreamId stream, StreamHandler* handler) { handlers_[stream] = handler; }

void TunnelConnection::detach(http::StreamId stream) {
  if (handlers_.erase(stream) == 0) return;
  if (!finished_) h2_->release(stream);
  pump();
  maybe_finish();
}

void TunnelConnection::pump() {
  if (pump_scheduled_ || finished_) return;
  pump_scheduled_ = true;
  ctx_.loop.defer([this] { flush_now(); });
}

void TunnelConnection::drain() {
  if (closing_) return;
  h2_->drain();
  pump();
}

void TunnelConnection::flush_now() {
  pump_scheduled_ = false;
  if (closed_ || !connected_) return;
  if (!closing_ || tls_->state() != tunnel::TlsState::Failed) {
    h2_->flush();
    // nghttp2 answers many invalid frames itself and reports the connection error only when
    // its GOAWAY goes out, here.
    count_h2_failure();
    // Sending produces events too: a stream whose END_STREAM went out after the peer's is
    // Closed, a stream whose send buffer drained is Writable. Left queued they would wait for
    // the next bytes from the peer, which may never come (a finished stream is never released).
    dispatch_events();
    tls_->flush();
  }
  if (sending_ == 0 && !tls_->output().empty()) {
    size_t n = tls_->output().gather(std::span<iovec>(iov_, kMaxIov), kMaxSendBytes);
    for (size_t i = 0; i < n; ++i) sending_ += iov_[i].iov_len;
    msg_ = msghdr{};
    msg_.msg_iov = iov_;
    msg_.msg_iovlen = n;
    ++inflight_;
    ctx_.loop.sendmsg(send_op_, fd_.get(), &msg_);
    return;
  }
  bool finished_output = sending_ == 0 && tls_->output().empty();
  if (finished_output && (h2_->done() || closing_)) close();
}

void TunnelConnection::on_send(int res, uint32_t) {
  --inflight_;
  sending_ = 0;
  if (res > 0) {
    stats_.bytes_sent.inc(static_cast<uint64_t>(res));
    tls_->output().consume(static_cast<size_t>(res));
    if (!closed_) flush_now();
  } else if (res != -ECANCELED) {
    close();
  }
  maybe_finish();
}

void TunnelConnection::close() {
  if (closed_) return maybe_finish();
  closed_ = true;
  closing_ = true;
  ctx_.loop.cancel(timer_);
  ctx_.buffers.cancel_wait(waiter_);
  if (ready_) {
    auto ready = std::move(ready_);
    ready_ = nullptr;
    ready(*this, false);
  }
  std::vector<StreamHandler*> handlers;
  for (auto& [id, h] : handlers_) handlers.push_back(h);
  for (StreamHandler* h : handlers) h->on_connection_lost();
  if (inflight_ > 0 && fd_) ctx_.loop.cancel_fd(fd_.get());
  maybe_finish();
}

void TunnelConnection::maybe_finish() {
  if (finished_ || !closed_ || inflight_ > 0 || !handlers_.empty()) return;
  finished_ = true;
  fd_.reset();
  stats_.active[role_ == Role::Client ? 0 : 1].add(-1);
  if (gone_) gone_(*this);
  ctx_.loop.defer([this] { delete this; });
}

}  // namespace mesh::proxy
