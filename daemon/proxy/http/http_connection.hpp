#pragma once
// HttpConnection: one connection whose bytes may be HTTP/1.1, on either side of the mesh. It
// runs inside the flow that carries the connection (a Splice), on the flow's channels, once
// the first upstream is connected:
//
//   Inbound   the server side (HBONE stream from 15008, or plaintext from 15006): each
//             request is authorized and goes to the local application, always on the one
//             upstream connection the flow dialled.
//   Outbound  the client side (a workload's connection to a service VIP): each request is
//             routed (route_outbound: rule, weighted target, header operations, rewrites,
//             redirects, 404), its endpoint picked by the destination's balancer
//             (ClusterCache), and sent on an upstream connection to that endpoint — the
//             current one when it goes to the same endpoint, else a new one (HBONE to a
//             meshed endpoint, plain TCP otherwise) while the previous one is closed.
//
// In both roles:
//
//   detect   the port's declaration, or sniff() of the client's first bytes, within
//            [http] detect_timeout (HttpOptions; tunnel/http/sniff.hpp). Bytes from the application first (a
//            server-speaks-first protocol), HTTP/2, anything else or the timeout: opaque —
//            the connection is re-checked with TCP semantics and handed to the byte relay
//            with every byte it held, untouched.
//   HTTP/1   each request: head decoded (H1RequestDecoder), path normalized, then decided
//            (inbound: authorize_inbound_request; outbound: routed, as above). Denied:
//            403 "RBAC: access denied" answered here (outbound: 404, a redirect, 503);
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
// request_headers_timeout (slowloris) 408; malformed response from the application 502; the
// application gone before its response head 503 (an upstream that cannot be reached: 503 UF).
// A record per request goes to the worker's RequestRecorder (istio_requests_total, reporter
// "destination" inbound, "source" outbound). A request keeps the policy snapshot it was
// decided with, so a reload changes the next request, never one in flight. Single-threaded.
#include <memory>
#include <optional>
#include <string>

#include "daemon/io/timer_queue.hpp"
#include "daemon/proxy/channel/byte_channel.hpp"
#include "daemon/proxy/http/h2_inbound.hpp"
#include "daemon/proxy/worker_context.hpp"
#include "daemon/telemetry/request_record.hpp"
#include "daemon/upstream/endpoint.hpp"
#include "policy/compiled.hpp"
#include "policy/route_actions.hpp"
#include "tunnel/http/h1_codec.hpp"
#include "tunnel/http/h1_encoder.hpp"

namespace mesh::proxy {

struct OutboundPlan;
struct FlowTarget;
struct HttpOptions;

// What the flow carrying an HttpConnection does for it.
class HttpConnectionHost {
 public:
  // From now on the flow relays bytes between the downstream and `up` (opaque, upgraded);
  // the session sees no more events.
  virtual void http_to_relay(ByteChannel& up) = 0;
  virtual void http_finish(CloseReason reason, bool reset) = 0;
  virtual FlowAttrs* http_attrs() = 0;          // inbound flows only; null outbound
  virtual RelayStats& http_relay_stats() = 0;  // the listener's byte counters
  // Outbound: a new upstream channel to `target`, dialling (Connected or Closed follow), part
  // of the flow from now on; null when the dial could not even start.
  virtual ByteChannel* http_dial(const FlowTarget& target) = 0;
  // Outbound: closes an upstream channel the session is done with; it leaves the flow once
  // quiet. The session sees no more of its events.
  virtual void http_retire(ByteChannel& channel) = 0;

 protected:
  ~HttpConnectionHost() = default;
};

class HttpConnection final : private io::Timer::Handler {
 public:
  // A denied request's body up to this size is read and dropped so the connection can stay
  // open; a larger one, one awaiting 100-continue, or a chunked one gets the 403 at once and
  // the connection closes after it.
  static constexpr uint64_t kDrainLimit = 64 * 1024;
  static constexpr size_t kKeptScratch = 1024;  // out_'s capacity kept between requests

  enum class Role : uint8_t { Inbound, Outbound };
  static constexpr base::Duration kDialTimeout = std::chrono::seconds(10);

  // `down` is the client's side, `up` the first upstream (connected); both are the flow's.
  // Outbound sessions get the flow's plan (kept alive by the flow).
  HttpConnection(WorkerContext& ctx, HttpConnectionHost& host, Role role, ByteChannel& down, ByteChannel& up,
                 const OutboundPlan* plan = nullptr);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  void start();
  // A channel event while the session is active.
  void on_event(ByteChannel& channel, ChannelEvent event);
  bool active() const { return phase_ == Phase::Detect || phase_ == Phase::Http1 || phase_ == Phase::Http2; }
  // The flow is ending: stop timers.
  void stop();
  // Whether `channel` is the session's current upstream (or the downstream).
  bool owns(const ByteChannel& channel) const { return &channel == &down_ || &channel == up_; }

 private:
  enum class Phase : uint8_t { Idle, Detect, Http1, Http2, Done };

  // One request and its response.
  struct Exchange {
    bool started = false;         // a byte of this request arrived
    bool head = false;            // its head was decoded
    bool forwarded = false;       // its head went to the application
    int local_status = 0;         // answered here with this status (denied, no route, redirect...)
    std::string_view local_body;
    std::string location;         // a redirect's
    std::optional<telemetry::ResponseFlag> local_flag;
    bool drainable = false;       // answered here, with a small body to read and drop first
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
    // Outbound: what the request was decided with, kept for its whole exchange.
    policy::PolicySnapshot snapshot;
    const policy::HeaderOps* response_ops = nullptr;
    upstream::Endpoint* endpoint = nullptr;  // begin_request() taken; end_request() at the end
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
  // Hands the flow to the byte relay, the client's bytes held here first.
  void to_relay();
  // The client's bytes not yet decoded: those taken while detecting, then the channel's.
  std::string_view client_bytes() const;
  void consume_client(size_t n);
  // Names the request's peers in its record before anything may refuse it.
  void describe_early(const tunnel::http::RequestHead& head);
  // HTTP/1
  void pump_request();
  void pump_response();
  void request_head(tunnel::http::RequestHead head, const tunnel::http::H1MessageInfo& info);
  // The role's decision about a decoded head: false when the request is answered here.
  bool decide_inbound(tunnel::http::RequestHead& head);
  bool decide_outbound(tunnel::http::RequestHead& head);
  // Outbound: an upstream connection to `endpoint` (the current one, or a new one).
  bool use_upstream(const base::SocketAddr& endpoint);
  void upstream_connected();
  void upstream_dial_failed();
  void drop_upstream();
  void answer_here(int status, std::string_view body, std::optional<telemetry::ResponseFlag> flag);
  void end_endpoint(bool success);
  bool upstream_blocked() const;
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
                   std::optional<telemetry::ResponseFlag> flag = std::nullopt, std::string_view location = {});
  void record();
  void reset_exchange();
  void finish(CloseReason reason, bool reset);
  bool send_down(std::string_view bytes);
  bool send_up(std::string_view bytes);
  void on_timer(io::Timer&) override;

  enum class Timing : uint8_t { None, Detect, Head, Dial };

  WorkerContext& ctx_;
  HttpConnectionHost& host_;
  const Role role_;
  ByteChannel& down_;
  ByteChannel* up_;                  // the current upstream; null (outbound) between connections
  const OutboundPlan* plan_;
  HttpStats& stats_;
  const HttpOptions& options_;
  Phase phase_ = Phase::Idle;
  bool up_connected_ = true;         // the current upstream's dial is done
  base::SocketAddr up_endpoint_;     // outbound: where the current upstream goes
  std::string pending_up_;           // bytes for an upstream still dialling
  io::Timer timer_{this};
  Timing timing_ = Timing::None;
  bool timed_out_ = false;
  bool down_ended_ = false;  // the client sent FIN
  RequestSide request_events_{*this};
  ResponseSide response_events_{*this};
  std::unique_ptr<tunnel::http::H1RequestDecoder> request_decoder_;
  std::unique_ptr<tunnel::http::H1ResponseDecoder> response_decoder_;
  tunnel::http::H1Encoder request_encoder_;
  tunnel::http::H1Encoder response_encoder_;
  std::string out_;  // an encoded piece on its way into a channel
  std::string sniffed_;    // the client's first bytes, taken from the channel to detect
  size_t sniffed_at_ = 0;  // how much of sniffed_ the request decoder has consumed
  Exchange ex_;
  std::unique_ptr<H2Inbound> h2_;
};

}  // namespace mesh::proxy
