#pragma once
// H2Inbound: the server side's HTTP/2 proxy for one inbound connection that speaks h2c with
// prior knowledge (what arrives inside an HBONE CONNECT stream, or plaintext on 15006). It
// runs inside the flow's HttpConnection once detection (or the port's declaration) says
// HTTP/2, on the flow's two channels: the client's (`down`) carries an H2Server, the
// application's (`up`) an H2Client — one HTTP/2 connection to the application, one upstream
// stream per downstream stream.
//
// Each downstream stream: its :path normalized (malformed: 400), the request authorized
// (authorize_inbound_request). Denied: gRPC requests get a trailers-only PERMISSION_DENIED
// ("RBAC: access denied"), others 403 with that body; the connection and its other streams
// carry on. Allowed: x-request-id added when absent, connection-specific fields dropped, an
// upstream stream opened with the same head (queued while the application's stream limit is
// reached), bodies relayed both ways with back-pressure (a side's bytes are consumed only as
// far as the other side's stream buffer accepted them; Writable resumes), trailers passed on
// (gRPC's grpc-status), and an RST_STREAM from either side passed to the other with its code
// unchanged. The application's connection failing fails its streams: before a response head
// 503 (gRPC: trailers-only UNAVAILABLE), after it a reset; then the flow ends. The client's
// connection failing, a GOAWAY with an error or a FIN ends the flow at once (the
// application's streams are cancelled); a GOAWAY(NO_ERROR) from the client ends it once its
// open streams are done. One RequestRecord per stream.
// Single-threaded: the flow's worker.
#include <memory>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "daemon/proxy/channel/byte_channel.hpp"
#include "daemon/proxy/http/http_stats.hpp"
#include "daemon/proxy/worker_context.hpp"
#include "daemon/telemetry/request_record.hpp"
#include "tunnel/http/grpc.hpp"
#include "tunnel/http/h2_client.hpp"
#include "tunnel/http/h2_server.hpp"

namespace mesh::proxy {

class HttpConnectionHost;

// Frames an H2 engine produces, staged and handed to a ByteChannel in one write per flush.
// buffered() reports the channel as full while it is not writable, so flush() stops there.
class ChannelSink final : public tunnel::http::ByteSink {
 public:
  explicit ChannelSink(ByteChannel& channel) : channel_(channel) {}
  void write(std::span<const uint8_t> bytes) override { staged_.insert(staged_.end(), bytes.begin(), bytes.end()); }
  size_t buffered() const override { return staged_.size() + (channel_.writable() ? 0 : kFull); }
  // Writes what is staged into the channel; returns how many bytes that was.
  size_t push();

 private:
  static constexpr size_t kFull = size_t{1} << 40;
  ByteChannel& channel_;
  std::vector<uint8_t> staged_;
};

class H2Inbound {
 public:
  // `down` is the client's side, `up` the application's (connected); both are the flow's.
  H2Inbound(WorkerContext& ctx, HttpConnectionHost& host, ByteChannel& down, ByteChannel& up);
  ~H2Inbound();
  H2Inbound(const H2Inbound&) = delete;
  H2Inbound& operator=(const H2Inbound&) = delete;

  // Creates both engines and reads what the client already sent (its preface): `already_read`
  // (taken from the channel while detecting), then what the channel holds.
  void start(std::string_view already_read = {});
  void on_event(ByteChannel& channel, ChannelEvent event);
  // The flow is ending: streams still open are recorded; no I/O follows.
  void stop();

 private:
  using StreamId = tunnel::http::StreamId;
  // HTTP/2 error codes (RFC 9113 §7) and HttpStats' side indexes.
  static constexpr uint32_t kNoError = 0x0;
  static constexpr uint32_t kInternalError = 0x2;
  static constexpr uint32_t kRefusedStream = 0x7;
  static constexpr uint32_t kCancel = 0x8;
  static constexpr size_t kDown = static_cast<size_t>(Side::Downstream);
  static constexpr size_t kUp = static_cast<size_t>(Side::Upstream);
  struct Exchange {
    StreamId down = 0;
    StreamId up = 0;               // 0: none (answered here, or waiting for a stream)
    bool grpc = false;
    bool local = false;            // answered here; what the client still sends is dropped
    bool waiting = false;          // allowed, waiting for the application's stream limit
    bool request_end = false;      // the client's END_STREAM arrived
    bool request_ended = false;    // ... and was passed on
    bool response_end = false;     // the application's END_STREAM arrived
    bool responded = false;        // a response head went downstream
    bool response_ended = false;   // END_STREAM (or trailers) went downstream
    bool up_paused = false;        // the upstream stream's send buffer is full
    bool down_paused = false;
    bool down_closed = false;      // the downstream stream is closed and released
    bool up_closed = false;        // the upstream stream is closed
    bool up_released = false;
    bool reset = false;            // ended by an RST_STREAM (either side) or a failure
    bool recorded = false;
    tunnel::http::RequestHead head;  // while waiting
    base::MonoTime start{};
    telemetry::RequestRecord record;
  };
  // What one batch of an engine's events says about streams, read before any is handled:
  // a response head whose END_STREAM (or RST_STREAM) came in the same read is answered as such.
  struct Batch {
    std::vector<tunnel::http::Event> events;
    std::vector<StreamId> ended, reset;
    bool ended_in(StreamId id) const;
    bool reset_in(StreamId id) const;
  };

  void pump();
  // An engine failed (a receive, or a GOAWAY nghttp2 sent while flushing): true if handled now.
  bool check_failures();
  size_t dispatch();
  void flush();
  void read(ByteChannel& ch, tunnel::http::H2Connection& engine, bool from_down);
  void server_event(const tunnel::http::Event& ev, const Batch& b);
  void client_event(const tunnel::http::Event& ev, const Batch& b);
  // downstream streams
  void request(StreamId id, const Batch& b);
  void open_upstream(Exchange& e);
  void open_waiting();
  void pump_request(Exchange& e);
  void down_closed(Exchange& e, uint32_t code);
  // upstream streams
  void response(Exchange& e, const Batch& b);
  void pump_response(Exchange& e);
  void up_closed(Exchange& e, uint32_t code);
  // Answers here: gRPC requests with a trailers-only `grpc` status when given, else `status`.
  void local_reply(Exchange& e, int status, std::string_view body, std::optional<tunnel::http::GrpcStatus> grpc,
                   std::optional<telemetry::ResponseFlag> flag = std::nullopt);
  void unavailable(Exchange& e);
  void maybe_done(Exchange& e);
  void record(Exchange& e);
  // connections
  void downstream_failed(CloseReason reason);
  void upstream_failed();
  void end(CloseReason reason);
  void check_end();
  Exchange* by_down(StreamId id);
  Exchange* by_up(StreamId id);

  WorkerContext& ctx_;
  HttpConnectionHost& host_;
  ByteChannel& down_;
  ByteChannel& up_;
  HttpStats& stats_;
  ChannelSink down_sink_;
  ChannelSink up_sink_;
  std::unique_ptr<tunnel::http::H2Server> server_;
  std::unique_ptr<tunnel::http::H2Client> client_;
  std::unordered_map<StreamId, std::unique_ptr<Exchange>> streams_;  // by downstream id
  std::unordered_map<StreamId, Exchange*> upstream_;                // by upstream id
  std::vector<StreamId> waiting_;                                   // downstream ids, in order
  std::optional<CloseReason> ending_;  // the flow ends with this once the last bytes are out
  bool client_done_ = false;           // GOAWAY(NO_ERROR) or FIN from the client: no new streams
  bool client_failed_ = false;         // the client's HTTP/2 connection failed
  bool app_gone_ = false;              // the application's connection failed or ended
  bool pumping_ = false;
  bool again_ = false;
  bool stopped_ = false;
};

}  // namespace mesh::proxy
