#include "daemon/proxy/l4/splice.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "daemon/io/socket.hpp"
#include "daemon/proxy/channel/socket_channel.hpp"
#include "daemon/proxy/channel/stream_channel.hpp"
#include "daemon/proxy/listener.hpp"
#include "daemon/proxy/http/http_options.hpp"
#include "daemon/proxy/http/http_stats.hpp"

namespace mesh::proxy {

namespace {

// Socket to socket: the upstream socket is dialled here.
class SocketSplice final : public Splice {
 public:
  SocketSplice(WorkerContext& ctx, std::shared_ptr<const DialProfile> profile, std::shared_ptr<RelayStats> stats,
               base::Fd downstream)
      : Splice(ctx, std::move(profile), std::move(stats)), down_(ctx, Side::Downstream), up_(ctx, Side::Upstream) {
    down_.adopt(std::move(downstream));
    bind(down_, up_);
  }
  void dial(const base::SocketAddr& upstream) {
    if (!up_.dial(*profile_, upstream)) return refused(up_.dial_error());
    arm_dial_deadline();
  }

 private:
  void opened() override {
    down_.start_reading();
    up_.start_reading();
    relay();
  }
  void refused(RejectReason reason) override { reject(reason, false); }
  void on_dial_timeout() override { up_.cancel_dial(); }  // completes as a timeout

  SocketChannel down_;
  SocketChannel up_;
};

// Socket to HBONE stream: the application's connection, tunnelled to a meshed peer.
class OutboundSplice final : public Splice {
 public:
  OutboundSplice(WorkerContext& ctx, std::shared_ptr<const DialProfile> profile, std::shared_ptr<RelayStats> stats,
                 base::Fd downstream)
      : Splice(ctx, std::move(profile), std::move(stats)), down_(ctx, Side::Downstream), up_(Side::Upstream) {
    down_.adopt(std::move(downstream));
    bind(down_, up_);
  }
  void connect(TunnelPool& pool, std::shared_ptr<const OutboundTunnel> target) {
    std::string forwarded;
    if (auto peer = io::peer_address(down_.fd())) forwarded = fmt::format("for=\"{}\"", peer->to_string());
    arm_dial_deadline();
    up_.connect(pool, std::move(target), profile_, std::move(forwarded));
  }


 private:
  void opened() override {
    down_.start_reading();
    relay();
  }
  void refused(RejectReason reason) override { reject(reason, false); }
  void on_dial_timeout() override { up_.cancel_dial(); }

  SocketChannel down_;
  StreamChannel up_;
};

// HBONE stream to socket: a CONNECT from a peer, relayed to the local application.
class InboundSplice final : public Splice {
 public:
  InboundSplice(WorkerContext& ctx, std::shared_ptr<const DialProfile> profile, std::shared_ptr<RelayStats> stats,
                TunnelConnection& conn, tunnel::http::StreamId stream)
      : Splice(ctx, std::move(profile), std::move(stats)), down_(Side::Downstream), up_(ctx, Side::Upstream) {
    down_.accept(conn, stream);
    bind(down_, up_);
  }
  void dial(const base::SocketAddr& upstream) {
    if (!up_.dial(*profile_, upstream)) return refused(up_.dial_error());
    arm_dial_deadline();
  }

 private:
  void opened() override {
    down_.respond(200);
    up_.start_reading();
    relay();
  }
  void refused(RejectReason reason) override {
    // The peer hears 503 (no upstream); the stream ends once the answer is out.
    down_.respond(503);
    reject(reason, false);
  }
  void on_dial_timeout() override { up_.cancel_dial(); }

  StreamChannel down_;
  SocketChannel up_;
};

}  // namespace

void Splice::start(WorkerContext& ctx, std::shared_ptr<const DialProfile> profile, std::shared_ptr<RelayStats> stats,
                   base::Fd downstream, const base::SocketAddr& upstream, std::optional<FlowAttrs> attrs,
                   std::shared_ptr<const OutboundPlan> http) {
  auto* s = new SocketSplice(ctx, std::move(profile), std::move(stats), std::move(downstream));
  s->attrs_ = std::move(attrs);
  s->plan_ = std::move(http);
  s->dial(upstream);
}

void Splice::outbound(WorkerContext& ctx, TunnelPool& pool, std::shared_ptr<const DialProfile> profile,
                      std::shared_ptr<RelayStats> stats, base::Fd downstream,
                      std::shared_ptr<const OutboundTunnel> target, std::shared_ptr<const OutboundPlan> http) {
  auto* s = new OutboundSplice(ctx, std::move(profile), std::move(stats), std::move(downstream));
  s->plan_ = std::move(http);
  s->connect(pool, std::move(target));
}

void Splice::inbound(WorkerContext& ctx, TunnelConnection& conn, tunnel::http::StreamId stream,
                     std::shared_ptr<const DialProfile> profile, std::shared_ptr<RelayStats> stats,
                     const base::SocketAddr& upstream, std::optional<FlowAttrs> attrs) {
  if (!ctx.budget.try_acquire()) {
    stats->reject(RejectReason::ConnectionLimit);
    (void)conn.server().respond(stream, 503);
    conn.pump();
    return;
  }
  auto* s = new InboundSplice(ctx, std::move(profile), std::move(stats), conn, stream);
  s->attrs_ = std::move(attrs);
  s->dial(upstream);
}

void Splice::bind(ByteChannel& down, ByteChannel& up) {
  down_ = &down;
  up_ = &up;
  add_channel(down);
  add_channel(up);
}

void Splice::relay() {
  relaying_ = true;
  start_idle_timer();
  if (plan_ && ctx_.http_stats != nullptr && ctx_.clusters != nullptr) {
    HttpConnectionHost& host = *this;
    http_ = std::make_unique<HttpConnection>(ctx_, host, HttpConnection::Role::Outbound, *down_, *up_, plan_.get());
    return http_->start();
  }
  if (attrs_ && ctx_.http_stats != nullptr) {
    if (attrs_->per_request) {
      HttpConnectionHost& host = *this;
      http_ = std::make_unique<HttpConnection>(ctx_, host, HttpConnection::Role::Inbound, *down_, *up_);
      return http_->start();
    }
    // Not inspected: the port's declaration or the server-first list settled it.
    tunnel::http::DetectInput in{attrs_->declared, attrs_->destination.port()};
    if (ctx_.http_options != nullptr) in.server_first_ports = ctx_.http_options->server_first_ports;
    ctx_.http_stats->detected(tunnel::http::decide_protocol(in).outcome);
  }
  http_to_relay(*up_);
}

void Splice::http_to_relay(ByteChannel& up) {
  up_ = &up;
  pump(*down_, *up_);
  if (!closing()) pump(*up_, *down_);
}

ByteChannel* Splice::http_dial(const FlowTarget& target) {
  if (target.tunnel) {
    if (ctx_.pool == nullptr) return nullptr;
    auto ch = std::make_unique<StreamChannel>(Side::Upstream);
    StreamChannel* raw = ch.get();
    owned_.push_back(std::move(ch));
    add_channel(*raw);
    if (forwarded_.empty()) {
      if (const auto* sock = dynamic_cast<const SocketChannel*>(down_)) {
        if (auto peer = io::peer_address(sock->fd())) forwarded_ = fmt::format("for=\"{}\"", peer->to_string());
      }
    }
    raw->connect(*ctx_.pool, target.tunnel, profile_, forwarded_);
    return raw;
  }
  auto ch = std::make_unique<SocketChannel>(ctx_, Side::Upstream);
  SocketChannel* raw = ch.get();
  owned_.push_back(std::move(ch));
  add_channel(*raw);
  if (!raw->dial(*profile_, target.upstream)) {
    http_retire(*raw);
    return nullptr;
  }
  return raw;
}

void Splice::http_retire(ByteChannel& channel) {
  retired_.push_back(&channel);
  channel.close(false);
  if (channel.quiet()) release(channel);
}

void Splice::release(ByteChannel& channel) {
  auto it = std::find(retired_.begin(), retired_.end(), &channel);
  if (it == retired_.end()) return;
  retired_.erase(it);
  remove_channel(channel);
  for (auto o = owned_.begin(); o != owned_.end(); ++o) {
    if (o->get() == &channel) {
      // Not inside the channel's own call: freed from the loop.
      std::shared_ptr<ByteChannel> gone(std::move(*o));
      owned_.erase(o);
      ctx_.loop.defer([gone] {});
      return;
    }
  }
}

void Splice::on_closing() {
  if (http_) http_->stop();
}

void Splice::on_event(ByteChannel& ch, ChannelEvent event) {
  if (!relaying_) {
    // Dialling: only the dialled side speaks (or the downstream gives up first).
    if (event == ChannelEvent::Connected) return opened();
    if (event != ChannelEvent::Closed) return;
    RejectReason reason = &ch == up_ ? ch.dial_error() : RejectReason::TunnelFailed;
    return refused(reason == RejectReason::kCount ? RejectReason::UpstreamError : reason);
  }
  if (!retired_.empty() && std::find(retired_.begin(), retired_.end(), &ch) != retired_.end()) {
    if (event == ChannelEvent::Quiet) release(ch);
    return;
  }
  if (http_ && http_->active()) return http_->on_event(ch, event);
  switch (event) {
    case ChannelEvent::Data:
    case ChannelEvent::PeerEnd:
      return pump(ch, other(ch));
    case ChannelEvent::Writable:
      pump(other(ch), ch);
      return check_done();
    case ChannelEvent::Closed:
      if (ch.fault() != ChannelFault::None) return finish(reason_for(ch), true);
      pump(ch, other(ch));  // a clean end: what the stream still holds goes on
      return check_done();
    case ChannelEvent::Connected:
    case ChannelEvent::Quiet:
      return;
  }
}

void Splice::pump(ByteChannel& from, ByteChannel& to) {
  bool upward = &to == up_;
  auto& counter = upward ? stats_->bytes_to_upstream : stats_->bytes_to_downstream;
  while (!closing() && to.writable()) {
    std::span<const uint8_t> bytes = from.peek();
    if (bytes.empty()) break;
    bool more = to.write(bytes);
    counter.inc(bytes.size());
    from.consume(bytes.size());
    if (!more) break;
  }
  if (closing()) return;
  from.want_read(to.writable());
  bool& ended = upward ? ended_to_up_ : ended_to_down_;
  if (!ended && from.peer_ended() && from.peek().empty()) {
    ended = true;
    to.close_write();
    check_done();
  }
}

void Splice::check_done() {
  if (closing() || !ended_to_up_ || !ended_to_down_) return;
  if (down_->write_closed() && up_->write_closed()) finish(CloseReason::Normal, false);
}

}  // namespace mesh::proxy
