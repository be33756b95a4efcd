#pragma once
// ByteChannel: one end of a proxied byte stream, the same whether it is a TCP socket
// (SocketChannel) or a stream inside an HBONE tunnel (StreamChannel). What sits on top — the
// L4 splice, later an HTTP codec — reads and writes bytes and sees five events, and never
// learns which transport it has:
//
//   Connected  a dial or a CONNECT succeeded: bytes may flow
//   Data       peek() has bytes that were not there before
//   PeerEnd    the peer sent its last byte (FIN, END_STREAM); peek() may still hold some
//   Writable   write() had returned false and the channel has room again
//   Closed     the channel failed or the peer reset it (fault() says how); no I/O follows
//   Quiet      after close(): the last operation in flight has completed; it may be freed
//
// Reading: peek() returns received bytes in place, consume(n) releases them. A channel reads
// more only once what it holds is consumed, so a reader that stops consuming stops the peer
// (socket buffers, HTTP/2 windows). Writing: write() takes every byte (queued where the
// transport cannot take them now) and returns false once the queue is over its limit: stop
// feeding it until Writable. close_write() ends the write side after the queued bytes.
// close() stops all I/O now; with `reset` the peer sees a reset (RST, RST_STREAM CANCEL),
// without it an orderly close. Single-threaded: the worker that owns the flow.
#include <cstdint>
#include <span>
#include <string_view>

#include "daemon/proxy/relay_stats.hpp"

namespace mesh::proxy {

enum class ChannelEvent : uint8_t { Connected, Data, PeerEnd, Writable, Closed, Quiet };

// How a channel ended, when it did not end cleanly. A receive error is the peer's doing; a
// send error the peer's too (it went away while we wrote).
enum class ChannelFault : uint8_t {
  None,
  Reset,       // ECONNRESET/EPIPE on a socket, RST_STREAM from the peer
  Error,       // any other I/O error
  TunnelLost,  // the HBONE connection under a stream failed or closed
};

// Which end of a flow a channel is: the one that connected to us, or the one we connected to.
enum class Side : uint8_t { Downstream, Upstream };

std::string_view to_string(ChannelEvent e);

class ByteChannel;

class ChannelHandler {
 public:
  virtual void on_channel(ByteChannel& channel, ChannelEvent event) = 0;

 protected:
  ~ChannelHandler() = default;
};

class ByteChannel {
 public:
  explicit ByteChannel(Side side) : side_(side) {}
  ByteChannel(const ByteChannel&) = delete;
  ByteChannel& operator=(const ByteChannel&) = delete;
  virtual ~ByteChannel() = default;

  void set_handler(ChannelHandler* handler) { handler_ = handler; }
  Side side() const { return side_; }
  ChannelFault fault() const { return fault_; }
  // Why a dial (or CONNECT) failed; kCount while it has not.
  virtual RejectReason dial_error() const { return RejectReason::kCount; }
  // Gives up on a dial in progress (it completes as a failure); nothing for an accepted end.
  virtual void cancel_dial() {}

  // --- reading ---
  virtual std::span<const uint8_t> peek() const = 0;
  virtual void consume(size_t n) = 0;
  // The peer ended its side (bytes may still wait in peek()).
  virtual bool peer_ended() const = 0;
  // Whether to take more from the peer once what is held is consumed (a socket stops
  // receiving; a stream needs nothing: its window closes by itself while unconsumed).
  virtual void want_read(bool) {}

  // --- writing ---
  virtual bool write(std::span<const uint8_t> bytes) = 0;
  virtual bool writable() const = 0;
  virtual void close_write() = 0;
  // close_write() was called and every byte before it has left this channel.
  virtual bool write_closed() const = 0;

  // --- ending ---
  virtual void close(bool reset) = 0;
  // Nothing in flight any more: the channel may be destroyed.
  virtual bool quiet() const = 0;
  // The loop has stopped for good: forget every collaborator (tunnel, pool) without
  // touching it, so the channel can be destroyed now.
  virtual void abandon() {}

 protected:
  void notify(ChannelEvent event) {
    if (handler_ != nullptr) handler_->on_channel(*this, event);
  }
  void set_fault(ChannelFault f) {
    if (fault_ == ChannelFault::None) fault_ = f;
  }

 private:
  ChannelHandler* handler_ = nullptr;
  ChannelFault fault_ = ChannelFault::None;
  Side side_;
};

}  // namespace mesh::proxy
