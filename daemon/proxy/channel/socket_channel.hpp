#pragma once
// SocketChannel: a ByteChannel over a connected TCP socket — one we accepted, or one we dial
// here as a DialProfile says. Receives go into the worker's provided buffer ring; a buffer is
// held only while its Data event runs: what the handler leaves unconsumed is copied into the
// channel's own queue and the buffer goes back at once, so an idle or stalled connection
// holds no ring buffer and cannot starve the others. Writes go straight to the socket with a
// non-blocking send; only what the kernel cannot take now is queued and sent with io_uring
// (write() then returns false until the queue is empty again: Writable). close_write() is a
// shutdown(SHUT_WR) once the queue is out; close(reset) sets SO_LINGER 0 first (RST).
// Every op in flight is counted; the fd is closed with the channel, after Quiet.
// Single-threaded: its worker.
#include <netinet/in.h>

#include "daemon/base/fd.hpp"
#include "daemon/base/socket_addr.hpp"
#include "daemon/io/buffer_ring.hpp"
#include "daemon/io/op.hpp"
#include "daemon/proxy/channel/byte_channel.hpp"
#include "daemon/proxy/channel/dial_profile.hpp"
#include "daemon/proxy/worker_context.hpp"
#include "daemon/base/byte_queue.hpp"

namespace mesh::proxy {

class SocketChannel final : public ByteChannel, private io::BufferRing::Waiter {
 public:
  SocketChannel(WorkerContext& ctx, Side side) : ByteChannel(side), ctx_(ctx) {}
  ~SocketChannel() override;

  // A socket that is already connected (accepted).
  void adopt(base::Fd fd);
  // Starts connecting: Connected, or Closed with dial_error() set. False (dial_error() set)
  // when the socket could not even be created.
  bool dial(const DialProfile& profile, const base::SocketAddr& to);
  // Gives up on a dial in progress: it completes as a timeout.
  void cancel_dial() override;
  bool connected() const { return connected_; }
  RejectReason dial_error() const override { return dial_error_; }
  // Reads from now on (reading does not start by itself); want_read(false) pauses it.
  void start_reading() { want_read(true); }
  void want_read(bool on) override;
  int fd() const { return fd_.get(); }

  std::span<const uint8_t> peek() const override;
  void consume(size_t n) override;
  bool peer_ended() const override { return eof_; }
  bool write(std::span<const uint8_t> bytes) override;
  bool writable() const override { return out_.empty(); }
  void close_write() override;
  bool write_closed() const override { return shut_; }
  void close(bool reset) override;
  bool quiet() const override { return inflight_ == 0; }

 private:
  void on_connect(int res, uint32_t flags);
  void on_recv(int res, uint32_t flags);
  void on_send(int res, uint32_t flags);
  void on_buffer_available() override { arm_recv(); }
  void arm_recv();
  void send_queued();
  void maybe_shutdown();
  void fail(int err);
  void op_done();

  WorkerContext& ctx_;
  base::Fd fd_;
  io::MemberOp<SocketChannel, &SocketChannel::on_connect> connect_op_{this};
  io::MemberOp<SocketChannel, &SocketChannel::on_recv> recv_op_{this};
  io::MemberOp<SocketChannel, &SocketChannel::on_send> send_op_{this};
  union {
    sockaddr_in v4;
    sockaddr_in6 v6;
  } peer_sa_{};  // must outlive the connect op
  std::span<const uint8_t> held_;  // the provided buffer of the Data event being delivered
  base::ByteQueue in_{kQueueBlock};   // received bytes the handler left unconsumed
  base::ByteQueue out_{kQueueBlock};  // bytes the socket could not take yet
  static constexpr size_t kQueueBlock = 16 * 1024;
  RejectReason dial_error_ = RejectReason::kCount;
  uint16_t inflight_ = 0;
  bool connected_ = false;
  bool reading_ = false;
  bool recv_armed_ = false;
  bool sending_ = false;
  bool want_writable_ = false;
  bool eof_ = false;
  bool shut_requested_ = false;
  bool shut_ = false;
  bool closed_ = false;
};

}  // namespace mesh::proxy
