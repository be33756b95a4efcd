#pragma once
// HttpConnection: the server side's view of one inbound connection (HBONE stream from 15008,
// or plaintext from 15006) whose bytes may be HTTP/1.1. It runs inside the flow that carries
// the connection (a Splice), on the flow's two channels, once the application's socket is
// connected:
//
//   detect   the port's declaration, or sniff() of the client's first bytes, within
//            kDetectTimeout (tunnel/http/sniff.hpp). Bytes from the application first (a
//            server-speaks-first protocol), HTTP/2, anything else or the timeout: opaque —
//            the connection is re-checked with TCP semantics and handed to the byte relay
//            with every byte it held, untouched.
//   HTTP/1   each request: head decoded (H1RequestDecoder), path normalized, authorized
//            (authorize_inbound_request). Denied: 403 "RBAC: access denied" answered here;
//            the connection stays open when the request's body is whole or small enough to
//            read and drop (kDrainLimit), else it closes after the answer. Allowed: x-request-id added when
//            absent, hop-by-hop fields dropped, head and body re-encoded (H1Encoder) to the
//            application; the response decoded and re-encoded back. One request at a time:
//            a pipelined request waits in the channel until the response before it is done
//            (the channel stops reading, so the client is back-pressured).
//   HTTP/2   h2c with prior knowledge (declared http2/grpc, or the preface sniffed): each
//            stream proxied to one HTTP/2 connection to the application (H2Inbound).
//   upgrade  a 101 to an Upgrade request (WebSocket) or a 2xx to CONNECT: the byte relay
//            takes over with the bytes already received on either side.
//
// Bad input closes this connection only, with the status it deserves and a counter by reason
// (HttpStats): malformed request 400/413/414/431/501/505; head not complete within
// kHeadersTimeout (slowloris) 408; malformed response from the application 502; the
// application gone before its response head 503. A record per request goes to the worker's
// RequestRecorder (istio_requests_total, reporter "destination"). Single-threaded.
#include <memory>
#include <optional>
#include <string>

#include "daemon/io/timer_queue.hpp"
#include "daemon/proxy/channel/byte_channel.hpp"
#include "daemon/proxy/http/h2_inbound.hpp"
#include "daemon/proxy/worker_context.hpp"
#include "daemon/telemetry/request_record.hpp"
#include "tunnel/http/h1_codec.hpp"
#include "tunnel/http/h1_encoder.hpp"

namespace mesh::proxy {

// What the flow carrying an HttpConnection does for it.
class HttpConnectionHost {
 public:
  // From now on the flow relays bytes (opaque, upgraded); the session sees no more events.
  virtual void http_to_relay() = 0;
  virtual void http_finish(CloseReason reason, bool reset) = 0;
  virtual FlowAttrs& http_attrs() = 0;
  virtual RelayStats& http_relay_stats() = 0;  // the listener's byte counters

 protected:
  ~HttpConnectionHost() = default;
};

class HttpConnection final : private io::Timer::Handler {
 public:
  static constexpr base::Duration kDetectTimeout = std::chrono::seconds(5);
  static constexpr base::Duration kHeadersTimeout = std::chrono::seconds(15);
  // A denied request's body up to this size is read and dropped so the connection can stay
  // open; a larger one, one awaiting 100-continue, or a chunked one gets the 403 at once and
  // the connection closes after it.
  static constexpr uint64_t kDrainLimit = 64 * 1024;

  // `down` is the client's side, `up` the application's (connected); both are the flow's.
  HttpConnection(WorkerContext& ctx, HttpConnectionHost& host, ByteChannel& down, ByteChannel& up);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  void start();
  // A channel event while the session is active.
  void on_event(ByteChannel& channel, ChannelEvent event);
  bool active() const { return phase_ == Phase::Detect || phase_ == Phase::Http1 || phase_ == Phase::Http2; }
  // The flow is ending: stop timers.
  void stop();

 private:
  enum class Phase : uint8_t { Idle, Detect, Http1, Http2, Done };

  // One request and its response.
  struct Exchange {
    bool started = false;         // a byte of this request arrived
    bool head = false;            // its head was decoded
    bool forwarded = false;       // its head went to the application
    bool denied = false;          // answered here
    bool drainable = false;       // denied, with a small body to read and drop before answering
    bool request_done = false;
    bool response_started = false;
    bool response_done = false;
    bool switching = false;       // 101 / 2xx to CONNECT
    bool close_after = false;
    bool finished = false;        // answered in full: the next request may start
    bool recorded = false;
    int reject_status = 0;        // refused while decoding (bad path, unencodable head)
    bool keep_alive = true;       // as the client's head says
    bool upgrade = false;         // asked to switch protocols (Upgrade or CONNECT)
    bool connect = false;
    tunnel::http::Version version = tunnel::http::Version::Http11;
    std::string method;
    std::string authority;
    std::string request_id;
    tunnel::http::Trailers request_trailers;
    tunnel::http::Trailers response_trailers;
    base::MonoTime start{};
    telemetry::RequestRecord record;
  };

  struct RequestSide final : tunnel::http::H1RequestEvents {
    explicit RequestSide(HttpConnection& conn) : c(conn) {}
    void on_request_head(tunnel::http::RequestHead head, const tunnel::http::H1MessageInfo& info) override {
      c.request_head(std::move(head), info);
    }
    void on_body(std::string_view chunk) override { c.request_body(chunk); }
    void on_trailers(tunnel::http::Trailers t) override { c.ex_.request_trailers = std::move(t); }
    void on_message_complete() override { c.request_complete(); }
    HttpConnection& c;
  };
  struct ResponseSide final : tunnel::http::H1ResponseEvents {
    explicit ResponseSide(HttpConnection& conn) : c(conn) {}
    void on_informational(tunnel::http::ResponseHead head) override { c.informational(std::move(head)); }
    void on_response_head(tunnel::http::ResponseHead head, const tunnel::http::H1MessageInfo& info) override {
      c.response_head(std::move(head), info);
    }
    void on_body(std::string_view chunk) override { c.response_body(chunk); }
    void on_trailers(tunnel::http::Trailers t) override { c.ex_.response_trailers = std::move(t); }
    void on_message_complete() override { c.ex_.response_done = true; }
    HttpConnection& c;
  };

  // detection
  void detect(bool upstream_spoke);
  void settle(tunnel::http::DetectOutcome outcome, tunnel::http::ProtocolAction action);
  void to_opaque();
  // HTTP/1
  void pump_request();
  void pump_response();
  void request_head(tunnel::http::RequestHead head, const tunnel::http::H1MessageInfo& info);
  void request_body(std::string_view chunk);
  void request_complete();
  void informational(tunnel::http::ResponseHead head);
  void response_head(tunnel::http::ResponseHead head, const tunnel::http::H1MessageInfo& info);
  void response_body(std::string_view chunk);
  void after_request_feed();
  void response_finished();
  void request_error(tunnel::http::H1Error e);
  void response_error(tunnel::http::H1Error e);
  void downstream_ended();
  void upstream_ended();
  void upstream_failed();
  // Answers the current request here; with `close` the connection ends after the answer.
  void local_reply(int status, std::string_view body, bool close, CloseReason reason,
                   std::optional<telemetry::ResponseFlag> flag = std::nullopt);
  void record();
  void reset_exchange();
  void finish(CloseReason reason, bool reset);
  bool send_down(const std::string& bytes);
  bool send_up(const std::string& bytes);
  void on_timer(io::Timer&) override;

  WorkerContext& ctx_;
  HttpConnectionHost& host_;
  ByteChannel& down_;
  ByteChannel& up_;
  HttpStats& stats_;
  Phase phase_ = Phase::Idle;
  io::Timer timer_{this};
  bool timed_out_ = false;
  bool down_ended_ = false;  // the client sent FIN
  RequestSide request_events_{*this};
  ResponseSide response_events_{*this};
  std::unique_ptr<tunnel::http::H1RequestDecoder> request_decoder_;
  std::unique_ptr<tunnel::http::H1ResponseDecoder> response_decoder_;
  tunnel::http::H1Encoder request_encoder_;
  tunnel::http::H1Encoder response_encoder_;
  std::string out_;  // an encoded piece on its way into a channel
  Exchange ex_;
  std::unique_ptr<H2Inbound> h2_;
};

}  // namespace mesh::proxy
