#include "daemon/proxy/http/http_connection.hpp"

#include "daemon/proxy/channel/channel_flow.hpp"
#include "daemon/proxy/decide.hpp"
#include "daemon/proxy/http/http_stats.hpp"
#include "daemon/proxy/http/request_decision.hpp"
#include "daemon/proxy/mesh_view.hpp"
#include "daemon/telemetry/request_metrics.hpp"
#include "tunnel/http/path_normalize.hpp"
#include "tunnel/http/sniff.hpp"

namespace mesh::proxy {

namespace http = tunnel::http;
using telemetry::ResponseFlag;

namespace {

std::string_view as_text(std::span<const uint8_t> b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

constexpr std::string_view kDenied = "RBAC: access denied";
// Envoy's words for an application that failed before its response head.
constexpr std::string_view kReset = "upstream connect error or disconnect/reset before headers. reset reason: connection termination";
constexpr std::string_view kProtocolError = "upstream connect error or disconnect/reset before headers. reset reason: protocol error";

}  // namespace

HttpConnection::HttpConnection(WorkerContext& ctx, HttpConnectionHost& host, ByteChannel& down, ByteChannel& up)
    : ctx_(ctx), host_(host), down_(down), up_(up), stats_(*ctx.http_stats) {}

HttpConnection::~HttpConnection() { stop(); }

void HttpConnection::stop() {
  phase_ = Phase::Done;
  if (h2_) h2_->stop();
  if (timer_.armed()) ctx_.loop.cancel(timer_);
}

void HttpConnection::finish(CloseReason reason, bool reset) {
  stop();
  host_.http_finish(reason, reset);
}

// --- detection ---

void HttpConnection::start() {
  const FlowAttrs& a = host_.http_attrs();
  http::DetectInput in{a.declared, a.destination.port()};
  auto d = http::decide_protocol(in);
  phase_ = Phase::Detect;
  if (d.action != http::ProtocolAction::Wait) return settle(d.outcome, d.action);
  ctx_.loop.schedule_after(timer_, kDetectTimeout);
  detect(false);
}

void HttpConnection::detect(bool upstream_spoke) {
  // The application spoke first (a server-first protocol): not a request/response exchange.
  // An h2c server's SETTINGS is not that: it may go out on accept, before the client's preface.
  if (upstream_spoke && !http::server_h2_preface(as_text(up_.peek()))) {
    return settle(http::DetectOutcome::Opaque, http::ProtocolAction::Opaque);
  }
  const FlowAttrs& a = host_.http_attrs();
  http::DetectInput in{a.declared, a.destination.port()};
  in.sniffed = http::sniff(as_text(down_.peek()));
  in.timed_out = timed_out_;
  auto d = http::decide_protocol(in);
  if (d.action == http::ProtocolAction::Wait) {
    // The client ended before its bytes said anything: whatever it sent goes on as bytes.
    if (down_.peer_ended()) settle(http::DetectOutcome::Opaque, http::ProtocolAction::Opaque);
    return;
  }
  settle(d.outcome, d.action);
}

void HttpConnection::settle(http::DetectOutcome outcome, http::ProtocolAction action) {
  if (timer_.armed()) ctx_.loop.cancel(timer_);
  stats_.detected(outcome);
  switch (action) {
    case http::ProtocolAction::Http1: {
      phase_ = Phase::Http1;
      request_decoder_ = std::make_unique<http::H1RequestDecoder>(request_events_);
      response_decoder_ = std::make_unique<http::H1ResponseDecoder>(response_events_);
      pump_request();
      if (phase_ == Phase::Http1) pump_response();
      return;
    }
    case http::ProtocolAction::Http2:
      phase_ = Phase::Http2;
      h2_ = std::make_unique<H2Inbound>(ctx_, host_, down_, up_);
      return h2_->start();
    case http::ProtocolAction::Opaque:
    case http::ProtocolAction::Wait:
      return to_opaque();
  }
}

void HttpConnection::to_opaque() {
  stop();
  FlowAttrs& a = host_.http_attrs();
  a.per_request = false;
  // Allowed so far because requests would be checked; as bytes, rules that need HTTP
  // attributes follow Istio's TCP semantics.
  if (!still_allowed(current_view(), a)) return host_.http_finish(CloseReason::Denied, true);
  host_.http_to_relay();
}

// --- events ---

void HttpConnection::on_event(ByteChannel& ch, ChannelEvent event) {
  bool from_down = &ch == &down_;
  if (phase_ == Phase::Detect) {
    if (event == ChannelEvent::Closed) {
      if (ch.fault() != ChannelFault::None) return finish(ChannelFlow::reason_for(ch), true);
      return detect(!from_down);
    }
    if (event == ChannelEvent::Data || event == ChannelEvent::PeerEnd) return detect(!from_down);
    return;
  }
  if (phase_ == Phase::Http2) return h2_->on_event(ch, event);
  if (phase_ != Phase::Http1) return;
  switch (event) {
    case ChannelEvent::Data:
    case ChannelEvent::PeerEnd:
      return from_down ? pump_request() : pump_response();
    case ChannelEvent::Writable:
      return from_down ? pump_response() : pump_request();
    case ChannelEvent::Closed:
      if (ch.fault() == ChannelFault::None) return from_down ? pump_request() : pump_response();
      if (from_down) {
        if (ex_.head && !ex_.response_done) {
          ex_.record.response_flags.set(ResponseFlag::DownstreamConnectionTermination);
          record();
        }
        return finish(ChannelFlow::reason_for(ch), true);
      }
      return upstream_failed();
    case ChannelEvent::Connected:
    case ChannelEvent::Quiet:
      return;
  }
}

void HttpConnection::on_timer(io::Timer&) {
  if (phase_ == Phase::Detect) {
    timed_out_ = true;
    return detect(false);
  }
  if (phase_ == Phase::Http1 && ex_.started && !ex_.head) {
    stats_.header_timeouts.inc();
    local_reply(408, "", true, CloseReason::HttpError);
  }
}

// --- requests ---

void HttpConnection::pump_request() {
  while (phase_ == Phase::Http1) {
    if (ex_.finished) reset_exchange();
    auto st = request_decoder_->state();
    if (st != http::H1DecoderState::Parsing || !up_.writable()) break;
    auto bytes = down_.peek();
    if (bytes.empty()) break;
    if (!ex_.started) {
      ex_.started = true;
      ex_.start = ctx_.loop.now();
      ex_.record.start_time = std::chrono::system_clock::now();
      ctx_.loop.schedule_after(timer_, kHeadersTimeout);
    }
    size_t n = request_decoder_->feed(as_text(bytes));
    down_.consume(n);
    if (request_decoder_->state() == http::H1DecoderState::Error) return request_error(request_decoder_->error());
    after_request_feed();
    if (n == 0 && !ex_.finished) break;
  }
  if (phase_ != Phase::Http1) return;
  down_.want_read(up_.writable());
  if (!down_ended_ && down_.peer_ended() && down_.peek().empty()) downstream_ended();
}

void HttpConnection::request_head(http::RequestHead head, const http::H1MessageInfo& info) {
  stats_.requests.inc();
  if (timer_.armed()) ctx_.loop.cancel(timer_);
  ex_.head = true;
  ex_.method = head.method;
  ex_.version = head.version;
  ex_.keep_alive = info.keep_alive;
  ex_.connect = info.connect;
  ex_.upgrade = info.connect || !info.upgrade.empty();
  const FlowAttrs& attrs = host_.http_attrs();
  // An HTTP/1.0 request may come without Host: the address it was sent to stands in.
  if (head.authority.empty()) head.authority = attrs.destination.to_string();
  ex_.authority = head.authority;
  if (!info.connect && head.path != "*") {
    auto normalized = http::normalize_path(head.path);
    if (!normalized) {
      stats_.bad_paths.inc();
      ex_.reject_status = 400;
      return;
    }
    head.path = std::move(*normalized);
  }
  const MeshView& view = current_view();
  describe_inbound(view.policy.get(), attrs, head.authority, ex_.record);
  if (refuses(authorize_inbound_request(view.policy.get(), attrs, head))) {
    stats_.denied.inc();
    ex_.denied = true;
    ex_.drainable = !info.expect_continue && !ex_.upgrade && info.framing == http::H1BodyFraming::ContentLength &&
                    info.content_length <= kDrainLimit;
    return;
  }
  if (const std::string* id = head.headers.get("x-request-id"); id != nullptr && !id->empty()) {
    ex_.request_id = *id;
  } else {
    ex_.request_id = new_request_id(thread_random());
    head.headers.set("x-request-id", ex_.request_id);
  }
  bool upgrade = ex_.upgrade && !info.connect;
  http::strip_hop_by_hop(head.headers, upgrade);
  http::H1EncodeOptions o;
  if (info.framing == http::H1BodyFraming::ContentLength) o.content_length = info.content_length;
  o.end_stream = info.framing == http::H1BodyFraming::None;
  o.keep_alive = info.keep_alive;
  out_.clear();
  if (!request_encoder_.start_request(head, o, out_)) {
    ex_.reject_status = 400;
    return;
  }
  ex_.forwarded = true;
  response_decoder_->expect(head.method, upgrade);
  send_up(out_);
}

void HttpConnection::request_body(std::string_view chunk) {
  if (!ex_.forwarded) return;  // denied or refused: the body is read and dropped
  ex_.record.request_body_bytes += chunk.size();
  out_.clear();
  request_encoder_.body(chunk, out_);
  send_up(out_);
}

void HttpConnection::request_complete() {
  ex_.request_done = true;
  if (!ex_.forwarded) return;
  out_.clear();
  const http::Trailers* t = ex_.request_trailers.empty() ? nullptr : &ex_.request_trailers;
  if (!request_encoder_.finish(t, out_)) (void)request_encoder_.finish(nullptr, out_);
  send_up(out_);
}

void HttpConnection::after_request_feed() {
  if (ex_.reject_status != 0) return local_reply(ex_.reject_status, "", true, CloseReason::HttpError);
  if (ex_.denied && !ex_.response_done) {
    // With nothing left of the request to come the connection serves the next one; with a
    // body still to come (or an upgrade asked for) it closes after the answer.
    bool whole = ex_.request_done && request_decoder_->state() == http::H1DecoderState::MessageComplete;
    // A small body the client sends anyway (no 100-continue to wait for) is read and dropped
    // first, so the answer can keep the connection.
    if (!whole && ex_.drainable) return;
    local_reply(403, kDenied, !whole || !ex_.keep_alive || down_ended_, CloseReason::Normal);
  }
}

void HttpConnection::request_error(http::H1Error e) {
  stats_.request_errors[static_cast<size_t>(e)].inc();
  if (ex_.forwarded) {
    // Part of this request already went to the application: it cannot be completed.
    ex_.record.response_flags.set(ResponseFlag::DownstreamProtocolError);
    record();
    return finish(CloseReason::HttpError, true);
  }
  local_reply(http::status_for(e), "", true, CloseReason::HttpError, ResponseFlag::DownstreamProtocolError);
}

void HttpConnection::downstream_ended() {
  down_ended_ = true;
  if (!ex_.started) return finish(CloseReason::Normal, false);  // between requests
  if (!ex_.request_done) {
    if (request_decoder_->finish() == http::H1DecoderState::Error) return request_error(request_decoder_->error());
  }
  // The request is whole and its response is on its way: the connection ends after it.
  if (ex_.response_done) finish(CloseReason::Normal, false);
}

// --- responses ---

void HttpConnection::pump_response() {
  while (phase_ == Phase::Http1) {
    if (!down_.writable()) break;
    auto bytes = up_.peek();
    if (bytes.empty()) break;
    if (response_decoder_->state() != http::H1DecoderState::Parsing) break;
    size_t n = response_decoder_->feed(as_text(bytes));
    up_.consume(n);
    if (response_decoder_->state() == http::H1DecoderState::Error) return response_error(response_decoder_->error());
    if (ex_.reject_status != 0) return response_error(http::H1Error::Malformed);
    if (ex_.response_done) {
      response_finished();
      continue;
    }
    if (n == 0) break;
  }
  if (phase_ != Phase::Http1) return;
  up_.want_read(down_.writable());
  if (up_.peer_ended() && up_.peek().empty()) upstream_ended();
}

void HttpConnection::informational(http::ResponseHead head) {
  if (!ex_.forwarded || ex_.version == http::Version::Http10) return;  // no 1xx to HTTP/1.0
  http::strip_hop_by_hop(head.headers);
  http::H1EncodeOptions o;
  o.end_stream = true;
  out_.clear();
  if (response_encoder_.start_response(head, ex_.method, ex_.version, o, out_)) send_down(out_);
}

void HttpConnection::response_head(http::ResponseHead head, const http::H1MessageInfo& info) {
  ex_.response_started = true;
  ex_.record.response_code = static_cast<uint16_t>(head.status);
  ex_.record.to_first_upstream_byte = ctx_.loop.now() - ex_.start;
  ex_.switching = head.status == 101 || (ex_.connect && head.status / 100 == 2);
  http::strip_hop_by_hop(head.headers, ex_.switching && !ex_.connect);
  bool keep = ex_.keep_alive && info.keep_alive && !down_ended_;
  ex_.close_after = !keep && !ex_.switching;
  http::H1EncodeOptions o;
  if (info.framing == http::H1BodyFraming::ContentLength) o.content_length = info.content_length;
  o.end_stream = info.framing == http::H1BodyFraming::None;
  o.keep_alive = keep || ex_.switching;
  out_.clear();
  if (!response_encoder_.start_response(head, ex_.method, ex_.version, o, out_)) {
    ex_.response_started = false;  // nothing was sent: the client hears 502
    ex_.reject_status = 502;
    return;
  }
  if (response_encoder_.close_after()) ex_.close_after = true;
  send_down(out_);
}

void HttpConnection::response_body(std::string_view chunk) {
  ex_.record.response_body_bytes += chunk.size();
  out_.clear();
  response_encoder_.body(chunk, out_);
  send_down(out_);
}

void HttpConnection::response_finished() {
  out_.clear();
  const http::Trailers* t = ex_.response_trailers.empty() ? nullptr : &ex_.response_trailers;
  if (!response_encoder_.finish(t, out_)) (void)response_encoder_.finish(nullptr, out_);
  send_down(out_);
  record();
  if (ex_.switching) {
    stats_.upgrades.inc();
    stop();
    return host_.http_to_relay();  // what either side sent after the heads goes on as bytes
  }
  // The application answered before the request's body was done (an early 413, say): the
  // rest of that body has nowhere to go, so the connection ends with this response.
  if (ex_.close_after || down_ended_ || !ex_.request_done ||
      response_decoder_->state() == http::H1DecoderState::Closed) {
    return finish(CloseReason::Normal, false);
  }
  ex_.finished = true;
  pump_request();
}

void HttpConnection::response_error(http::H1Error e) {
  stats_.response_errors[static_cast<size_t>(e)].inc();
  ex_.record.response_flags.set(ResponseFlag::UpstreamProtocolError);
  if (ex_.forwarded && !ex_.response_started) {
    return local_reply(502, kProtocolError, true, CloseReason::HttpError);
  }
  if (ex_.head) record();
  finish(CloseReason::HttpError, true);
}

void HttpConnection::upstream_ended() {
  if (ex_.forwarded && !ex_.response_done) {
    response_decoder_->finish();
    if (ex_.response_done) return response_finished();  // a body delimited by the close
    if (!ex_.response_started) {
      return local_reply(503, kReset, true, CloseReason::Normal, ResponseFlag::UpstreamConnectionTermination);
    }
    // Cut mid-body: the client must not take what it got for a whole response.
    ex_.record.response_flags.set(ResponseFlag::UpstreamConnectionTermination);
    record();
    return finish(CloseReason::UpstreamReset, true);
  }
  // Between requests the application closed its keep-alive connection: so do we (a request
  // that was still arriving, or is being refused here, ends with it).
  finish(CloseReason::Normal, false);
}

void HttpConnection::upstream_failed() {
  if (ex_.forwarded && !ex_.response_started) {
    return local_reply(503, kReset, true, CloseReason::UpstreamReset, ResponseFlag::UpstreamConnectionTermination);
  }
  if (ex_.forwarded && !ex_.response_done) {
    ex_.record.response_flags.set(ResponseFlag::UpstreamConnectionTermination);
    record();
  }
  finish(CloseReason::UpstreamReset, true);
}

// --- answers and records ---

void HttpConnection::local_reply(int status, std::string_view body, bool close, CloseReason reason,
                                 std::optional<ResponseFlag> flag) {
  http::ResponseHead head;
  head.status = status;
  head.version = http::Version::Http11;
  if (!body.empty()) head.headers.add("content-type", "text/plain");
  http::H1EncodeOptions o;
  o.content_length = body.size();
  o.end_stream = body.empty();
  o.keep_alive = !close;
  http::H1Encoder encoder;
  out_.clear();
  if (encoder.start_response(head, ex_.method.empty() ? "GET" : ex_.method, ex_.version, o, out_)) {
    encoder.body(body, out_);
    (void)encoder.finish(nullptr, out_);
    send_down(out_);
  }
  ex_.response_started = ex_.response_done = true;
  ex_.record.response_code = static_cast<uint16_t>(status);
  ex_.record.response_body_bytes = body.size();
  if (flag) ex_.record.response_flags.set(*flag);
  if (ex_.start == base::MonoTime{}) {
    ex_.start = ctx_.loop.now();
    ex_.record.start_time = std::chrono::system_clock::now();
  }
  record();
  if (close) return finish(reason, false);
  ex_.finished = true;
}

void HttpConnection::record() {
  if (ex_.recorded) return;
  ex_.recorded = true;
  if (ctx_.requests == nullptr) return;
  auto& r = ex_.record;
  if (!ex_.head) describe_inbound(current_view().policy.get(), host_.http_attrs(), "", r);
  r.duration = ctx_.loop.now() - ex_.start;
  r.request_protocol = telemetry::RequestProtocol::Http;
  ctx_.requests->record(r);
}

void HttpConnection::reset_exchange() {
  ex_ = Exchange{};
  if (request_decoder_->state() == http::H1DecoderState::MessageComplete ||
      request_decoder_->state() == http::H1DecoderState::Upgraded) {
    request_decoder_->resume();
  }
  if (response_decoder_->state() == http::H1DecoderState::MessageComplete) response_decoder_->resume();
}

bool HttpConnection::send_down(const std::string& bytes) {
  if (bytes.empty()) return down_.writable();
  host_.http_relay_stats().bytes_to_downstream.inc(bytes.size());
  return down_.write({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
}

bool HttpConnection::send_up(const std::string& bytes) {
  if (bytes.empty()) return up_.writable();
  host_.http_relay_stats().bytes_to_upstream.inc(bytes.size());
  return up_.write({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
}

}  // namespace mesh::proxy
