#include "daemon/proxy/channel/socket_channel.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "daemon/base/check.hpp"
#include "daemon/base/log.hpp"
#include "daemon/io/socket.hpp"

namespace mesh::proxy {

SocketChannel::~SocketChannel() { ctx_.buffers.cancel_wait(*this); }

void SocketChannel::adopt(base::Fd fd) {
  fd_ = std::move(fd);
  connected_ = true;
  io::set_nodelay(fd_.get());
}

bool SocketChannel::dial(const DialProfile& profile, const base::SocketAddr& to) {
  auto sock = upstream_socket(profile, to);
  if (!sock) {
    base::log::warn("failed to create a socket to {} for '{}': {}", to.to_string(), profile.name,
                    sock.error().message());
    dial_error_ = RejectReason::UpstreamError;
    return false;
  }
  fd_ = std::move(*sock);
  io::set_nodelay(fd_.get());
  sockaddr_storage ss;
  socklen_t len = to.to_sockaddr(ss);
  std::memcpy(&peer_sa_, &ss, len);
  ++inflight_;
  ctx_.loop.connect(connect_op_, fd_.get(), reinterpret_cast<const sockaddr*>(&peer_sa_), len);
  return true;
}

void SocketChannel::cancel_dial() {
  if (!connected_ && inflight_ > 0) ctx_.loop.cancel_op(connect_op_);
}

void SocketChannel::on_connect(int res, uint32_t) {
  if (!closed_) {
    if (res < 0) {
      dial_error_ = reject_for_connect_error(-res);
      set_fault(ChannelFault::Error);
      op_done();
      return notify(ChannelEvent::Closed);
    }
    connected_ = true;
  }
  op_done();
  if (!closed_) notify(ChannelEvent::Connected);
}

void SocketChannel::want_read(bool on) {
  reading_ = on;
  arm_recv();
}

void SocketChannel::arm_recv() {
  if (!reading_ || recv_armed_ || eof_ || closed_ || !held_.empty() || !in_.empty()) return;
  recv_armed_ = true;
  ++inflight_;
  ctx_.loop.recv_provided(recv_op_, fd_.get(), ctx_.buffers.group());
}

void SocketChannel::on_recv(int res, uint32_t flags) {
  recv_armed_ = false;
  if (res > 0) {
    uint16_t bid = io::BufferRing::buffer_id(flags);
    auto data = ctx_.buffers.take(bid, static_cast<size_t>(res));
    if (!closed_) {
      held_ = data;
      notify(ChannelEvent::Data);
      // Whatever the handler did not take is ours to keep: the ring's buffer goes back now.
      if (!held_.empty() && !closed_) in_.append(held_);
      held_ = {};
    }
    ctx_.buffers.recycle(bid);
    op_done();
    return arm_recv();
  }
  if (res == 0) {
    eof_ = true;
    op_done();
    if (!closed_) notify(ChannelEvent::PeerEnd);
    return;
  }
  if (res == -ENOBUFS && !closed_) {
    ctx_.stats.buffer_waits.inc();
    if (ctx_.buffers.in_use() > 0) ctx_.buffers.wait(*this);
    else ctx_.loop.defer([this] { arm_recv(); });
  } else if (res != -ECANCELED && res != -ENOBUFS) {
    fail(-res);
  }
  op_done();
}

std::span<const uint8_t> SocketChannel::peek() const { return held_.empty() ? in_.front() : held_; }

void SocketChannel::consume(size_t n) {
  if (!held_.empty()) {
    MESH_CHECK(n <= held_.size());
    held_ = held_.subspan(n);
    return;
  }
  in_.consume(n);
  arm_recv();
}

bool SocketChannel::write(std::span<const uint8_t> bytes) {
  if (closed_ || shut_requested_ || bytes.empty()) return writable();
  if (out_.empty()) {
    ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        fail(errno);
        return false;
      }
      n = 0;
    }
    if (static_cast<size_t>(n) == bytes.size()) return true;
    bytes = bytes.subspan(static_cast<size_t>(n));
    ctx_.stats.stalled_sends.inc();
  }
  out_.append(bytes);
  want_writable_ = true;
  send_queued();
  return false;
}

void SocketChannel::send_queued() {
  if (sending_ || out_.empty() || closed_) return;
  sending_ = true;
  ++inflight_;
  auto front = out_.front();
  ctx_.loop.send(send_op_, fd_.get(), front.data(), front.size());
}

void SocketChannel::on_send(int res, uint32_t) {
  sending_ = false;
  if (!closed_) {
    if (res > 0) {
      out_.consume(static_cast<size_t>(res));
    } else if (res != -ECANCELED) {
      fail(res == 0 ? EPIPE : -res);
    }
  }
  op_done();
  if (closed_) return;
  if (!out_.empty()) return send_queued();
  maybe_shutdown();
  if (want_writable_ && !closed_) {
    want_writable_ = false;
    notify(ChannelEvent::Writable);
  }
}

void SocketChannel::close_write() {
  shut_requested_ = true;
  maybe_shutdown();
}

void SocketChannel::maybe_shutdown() {
  if (!shut_requested_ || shut_ || !out_.empty() || closed_ || !fd_) return;
  ::shutdown(fd_.get(), SHUT_WR);
  shut_ = true;
}

void SocketChannel::fail(int err) {
  set_fault(err == ECONNRESET || err == EPIPE ? ChannelFault::Reset : ChannelFault::Error);
  if (!closed_) notify(ChannelEvent::Closed);
}

void SocketChannel::close(bool reset) {
  if (closed_) return;
  closed_ = true;
  ctx_.buffers.cancel_wait(*this);
  if (!fd_) return;
  if (reset) io::set_reset_on_close(fd_.get());
  if (inflight_ > 0) ctx_.loop.cancel_fd(fd_.get());
  else fd_.reset();
}

void SocketChannel::op_done() {
  MESH_CHECK(inflight_ > 0);
  if (--inflight_ == 0 && closed_) {
    fd_.reset();
    notify(ChannelEvent::Quiet);
  }
}

}  // namespace mesh::proxy
