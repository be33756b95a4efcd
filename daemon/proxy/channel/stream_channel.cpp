#include "daemon/proxy/channel/stream_channel.hpp"

#include <random>

#include <fmt/format.h>

namespace mesh::proxy {

namespace hbone = tunnel::hbone;
namespace http = tunnel::http;

namespace {

constexpr uint32_t kCancel = 8;  // HTTP/2 CANCEL

// A fresh W3C traceparent per tunnelled connection, as ztunnel sends: it correlates one
// connection across both nodes' logs (version 00, random ids, not sampled).
std::string new_traceparent() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("00-{:016x}{:016x}-{:016x}-00", rng(), rng(), rng() | 1);
}

RejectReason reject_for_status(uint32_t status) {
  if (status == 401 || status == 403) return RejectReason::Denied;
  if (status == 503) return RejectReason::PeerUnavailable;
  return RejectReason::TunnelFailed;
}

}  // namespace

StreamChannel::~StreamChannel() {
  if (waiting_) pool_->cancel(*this);
  detach();
}

void StreamChannel::connect(TunnelPool& pool, std::shared_ptr<const OutboundTunnel> target,
                            std::shared_ptr<const DialProfile> profile, std::string forwarded) {
  pool_ = &pool;
  target_ = std::move(target);
  profile_ = std::move(profile);
  forwarded_ = std::move(forwarded);
  waiting_ = true;
  pool.acquire(target_, profile_, *this);  // may answer at once
}

void StreamChannel::on_tunnel(TunnelConnection* conn) {
  waiting_ = false;
  if (closed_) {
    if (conn != nullptr) pool_->release_stream(*conn);
    return;
  }
  if (conn == nullptr) return refuse_dial(RejectReason::TunnelFailed);
  hbone::ConnectRequest req;
  req.authority = target_->authority;
  req.traceparent = new_traceparent();
  req.forwarded = std::move(forwarded_);
  auto id = conn->client().open(req);
  if (!id) {
    pool_->release_stream(*conn);
    return refuse_dial(RejectReason::TunnelFailed);
  }
  conn_ = conn;
  stream_ = *id;
  conn_->attach(stream_, this);
  opening_ = true;
  conn_->pump();
}

void StreamChannel::cancel_dial() {
  if (connected_ || closed_) return;
  if (waiting_) {
    waiting_ = false;
    pool_->cancel(*this);
  }
  refuse_dial(RejectReason::TunnelFailed);
}

void StreamChannel::refuse_dial(RejectReason reason) {
  opening_ = false;
  dial_error_ = reason;
  set_fault(ChannelFault::Error);
  notify(ChannelEvent::Closed);
}

void StreamChannel::accept(TunnelConnection& conn, http::StreamId stream) {
  conn_ = &conn;
  stream_ = stream;
  conn.attach(stream, this);
}

void StreamChannel::respond(int status) {
  if (conn_ == nullptr || closed_) return;
  (void)conn_->server().respond(stream_, status);
  connected_ = status == 200;
  if (!connected_) write_ended_ = true;  // a refusal ends the stream after the answer
  conn_->pump();
}

void StreamChannel::on_stream_event(const http::Event& ev) {
  if (closed_) {
    // Closing gracefully: waiting for the stream to close (our last bytes or answer are out).
    if (ev.kind == http::EventKind::Closed) {
      stream_closed_ = true;
      detach();
      notify(ChannelEvent::Quiet);
    } else if (ev.kind == http::EventKind::Data) {
      discard_input();  // keeps the peer's window open until it ends its side
    }
    return;
  }
  switch (ev.kind) {
    case http::EventKind::Response:
      if (!opening_) return;
      opening_ = false;
      if (ev.code != 200) return refuse_dial(reject_for_status(ev.code));
      connected_ = true;
      return notify(ChannelEvent::Connected);
    case http::EventKind::Data:
      return notify(ChannelEvent::Data);
    case http::EventKind::PeerEnd:
      return notify(ChannelEvent::PeerEnd);
    case http::EventKind::Writable:
      paused_ = false;
      return notify(ChannelEvent::Writable);
    case http::EventKind::Closed:
      stream_closed_ = true;
      if (!connected_) return refuse_dial(RejectReason::TunnelFailed);
      if (ev.code != 0) set_fault(ChannelFault::Reset);  // the remote end reset the stream
      return notify(ChannelEvent::Closed);
    default:
      return;
  }
}

void StreamChannel::on_connection_lost() {
  stream_closed_ = true;
  bool was_closed = closed_;
  detach();
  if (was_closed) return notify(ChannelEvent::Quiet);
  if (!connected_) return refuse_dial(RejectReason::TunnelFailed);
  set_fault(ChannelFault::TunnelLost);
  notify(ChannelEvent::Closed);
}

std::span<const uint8_t> StreamChannel::peek() const {
  if (conn_ == nullptr || !connected_) return {};
  return conn_->h2().peek(stream_);
}

void StreamChannel::consume(size_t n) {
  if (conn_ == nullptr || n == 0) return;
  conn_->h2().consume(stream_, n);
  conn_->pump();  // window updates for what was consumed
}

bool StreamChannel::peer_ended() const { return conn_ != nullptr && conn_->h2().peer_ended(stream_); }

bool StreamChannel::write(std::span<const uint8_t> bytes) {
  if (conn_ == nullptr || closed_ || write_ended_) return false;
  bool more = conn_->h2().write(stream_, bytes);
  conn_->pump();
  paused_ = !more;
  return more;
}

void StreamChannel::close_write() {
  if (write_ended_ || conn_ == nullptr) return;
  write_ended_ = true;
  conn_->h2().close_write(stream_);
  conn_->pump();
}

void StreamChannel::close(bool reset) {
  if (closed_) return;
  closed_ = true;
  if (waiting_) {
    waiting_ = false;
    pool_->cancel(*this);
  }
  if (conn_ == nullptr) return;
  if (reset || (!connected_ && !write_ended_)) {
    // An abandoned or never-opened stream is reset (RST_STREAM CANCEL).
    if (!stream_closed_) conn_->h2().reset(stream_, kCancel);
    return detach();
  }
  if (stream_closed_) return detach();
  // An orderly close is END_STREAM, as FIN is on a socket (an idle timeout looks the same on
  // both nodes): what is queued gets out, what the peer still sends is discarded, and the
  // channel is Quiet once the stream closes (on_stream_event) or the flow's linger resets it.
  if (!write_ended_) close_write();
  discard_input();
}

void StreamChannel::discard_input() {
  if (conn_ == nullptr) return;
  auto pending = conn_->h2().peek(stream_).size();
  if (pending > 0) consume(pending);
}

void StreamChannel::detach() {
  if (conn_ == nullptr) return;
  if (pool_ != nullptr) pool_->release_stream(*conn_);
  conn_->detach(stream_);  // releases the stream (resets it if still open)
  conn_ = nullptr;
}

}  // namespace mesh::proxy
