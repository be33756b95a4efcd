#pragma once
// StreamChannel: a ByteChannel over one CONNECT stream of an HBONE tunnel (TunnelConnection).
//
//   connect()  outbound: wait for a pooled tunnel to the destination's node, send CONNECT
//              :authority dst; 200 -> Connected; 401/403 (Denied), 503 (PeerUnavailable) or
//              no tunnel (TunnelFailed) -> Closed with dial_error().
//   accept()   inbound: a CONNECT that arrived on 15008 and was allowed; respond() answers
//              it once the flow knows (200 opens it, anything else refuses it).
//
// Reading is the stream's receive buffer in place: consume() is what reopens the HTTP/2
// window, so a reader that stops consuming stops the remote sender. write() copies into the
// stream's send buffer (the only copy) and returns false over its limit (Writable resumes).
// close_write() is END_STREAM after the queued bytes; write_closed() once nghttp2 has closed
// the stream (both ends sent). close(false) on an open stream ends our side (END_STREAM, as
// FIN on a socket), lets what is queued (the last bytes, a refusal) get out, discards what the
// peer still sends and waits for the stream to close before it is Quiet; close(true), or
// close() on a stream that never opened, resets it (RST_STREAM CANCEL) at once. A lost tunnel is Closed with TunnelLost.
// Single-threaded: its worker.
#include <memory>
#include <string>

#include "daemon/proxy/channel/byte_channel.hpp"
#include "daemon/proxy/channel/dial_profile.hpp"
#include "daemon/proxy/hbone/tunnel_pool.hpp"

namespace mesh::proxy {

class StreamChannel final : public ByteChannel, public StreamHandler, private TunnelPool::Waiter {
 public:
  explicit StreamChannel(Side side) : ByteChannel(side) {}
  ~StreamChannel() override;

  // `forwarded` is the Forwarded header to send ("" for none).
  void connect(TunnelPool& pool, std::shared_ptr<const OutboundTunnel> target,
               std::shared_ptr<const DialProfile> profile, std::string forwarded);
  // Gives up on a connect() still waiting: Closed with TunnelFailed.
  void cancel_dial() override;
  void accept(TunnelConnection& conn, tunnel::http::StreamId stream);
  // Answers an accepted CONNECT (once). Anything but 200 ends the stream after the answer.
  void respond(int status);
  bool connected() const { return connected_; }
  RejectReason dial_error() const override { return dial_error_; }

  std::span<const uint8_t> peek() const override;
  void consume(size_t n) override;
  bool peer_ended() const override;
  bool write(std::span<const uint8_t> bytes) override;
  bool writable() const override { return !paused_; }
  void close_write() override;
  bool write_closed() const override { return stream_closed_ && write_ended_; }
  void close(bool reset) override;
  bool quiet() const override { return closed_ && conn_ == nullptr; }
  void abandon() override {
    conn_ = nullptr;
    waiting_ = false;
  }

 private:
  // TunnelPool::Waiter
  void on_tunnel(TunnelConnection* conn) override;
  // StreamHandler
  void on_stream_event(const tunnel::http::Event& event) override;
  void on_connection_lost() override;
  void refuse_dial(RejectReason reason);
  void detach();
  void discard_input();

  TunnelPool* pool_ = nullptr;  // outbound: the pool that counted our stream
  TunnelConnection* conn_ = nullptr;
  tunnel::http::StreamId stream_ = 0;
  std::shared_ptr<const OutboundTunnel> target_;
  std::shared_ptr<const DialProfile> profile_;
  std::string forwarded_;
  RejectReason dial_error_ = RejectReason::kCount;
  bool waiting_ = false;        // in the pool's queue
  bool opening_ = false;        // CONNECT sent, no answer yet
  bool connected_ = false;
  bool paused_ = false;         // the send buffer is over its limit
  bool write_ended_ = false;    // close_write() called
  bool stream_closed_ = false;  // nghttp2 closed the stream
  bool closed_ = false;         // close() called
};

}  // namespace mesh::proxy
