#include "daemon/proxy/http/http_connection.hpp"

#include "daemon/proxy/channel/channel_flow.hpp"
#include "daemon/proxy/decide.hpp"
#include "daemon/proxy/http/cluster_cache.hpp"
#include "daemon/proxy/http/http_options.hpp"
#include "daemon/proxy/http/http_stats.hpp"
#include "daemon/proxy/http/local_replies.hpp"
#include "daemon/proxy/http/outbound_route.hpp"
#include "daemon/proxy/http/request_decision.hpp"
#include "daemon/proxy/mesh_view.hpp"
#include "daemon/telemetry/request_metrics.hpp"
#include "tunnel/http/path_normalize.hpp"
#include "tunnel/http/sniff.hpp"

namespace mesh::proxy {

namespace http = tunnel::http;
using telemetry::ResponseFlag;


namespace {
const HttpOptions& default_options() {
  static const HttpOptions options;
  return options;
}
}  // namespace

HttpConnection::HttpConnection(WorkerContext& ctx, HttpConnectionHost& host, Role role, ByteChannel& down, ByteChannel& up,
                               const OutboundPlan* plan)
    : ctx_(ctx),
      host_(host),
      role_(role),
      down_(down),
      up_(&up),
      plan_(plan),
      stats_(*ctx.http_stats),
      options_(ctx.http_options != nullptr ? *ctx.http_options : default_options()) {
  if (plan_ != nullptr) up_endpoint_ = plan_->first_endpoint;
}

HttpConnection::~HttpConnection() { stop(); }

void HttpConnection::stop() {
  phase_ = Phase::Done;
  timing_ = Timing::None;
  if (h2_) h2_->stop();
  if (timer_.armed()) ctx_.loop.cancel(timer_);
  end_endpoint(false);
}

void HttpConnection::finish(CloseReason reason, bool reset) {
  stop();
  host_.http_finish(reason, reset);
}

// --- detection ---

namespace {
http::DetectInput detect_input(const FlowAttrs* attrs, const OutboundPlan* plan, const HttpOptions& options) {
  http::DetectInput in = attrs != nullptr ? http::DetectInput{attrs->declared, attrs->destination.port()}
                                          : http::DetectInput{plan->declared, plan->dialled.port()};
  in.server_first_ports = options.server_first_ports;
  return in;
}
}  // namespace

void HttpConnection::start() {
  auto d = http::decide_protocol(detect_input(host_.http_attrs(), plan_, options_));
  phase_ = Phase::Detect;
  if (d.action != http::ProtocolAction::Wait) return settle(d.outcome, d.action);
  timing_ = Timing::Detect;
  ctx_.loop.schedule_after(timer_, options_.detect_timeout);
  detect(false);
}

void HttpConnection::detect(bool upstream_spoke) {
  // The application spoke first (a server-first protocol): not a request/response exchange.
  // An h2c server's SETTINGS is not that: it may go out on accept, before the client's preface.
  if (upstream_spoke && !http::server_h2_preface(replies::as_text(up_->peek()))) {
    return settle(http::DetectOutcome::Opaque, http::ProtocolAction::Opaque);
  }
  http::DetectInput in = detect_input(host_.http_attrs(), plan_, options_);
  // The channel holds one receive until it is consumed: the first bytes are taken into
  // sniffed_ so that a request line arriving in pieces is read on (bounded: sniff() decides
  // by kDefaultMaxRequestLine bytes).
  if (auto bytes = down_.peek(); !bytes.empty()) {
    sniffed_.append(replies::as_text(bytes));
    down_.consume(bytes.size());
  }
  in.sniffed = http::sniff(sniffed_);
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
  timing_ = Timing::None;
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
    case http::ProtocolAction::Http2: {
      // The client side does not inspect HTTP/2 yet: an outbound h2c connection is bytes.
      if (role_ == Role::Outbound) return to_opaque();
      phase_ = Phase::Http2;
      h2_ = std::make_unique<H2Inbound>(ctx_, host_, down_, *up_);
      // What detection took from the client (its preface) is the engine's first input.
      std::string held = sniffed_.substr(sniffed_at_);
      std::string().swap(sniffed_);
      sniffed_at_ = 0;
      return h2_->start(held);
    }
    case http::ProtocolAction::Opaque:
    case http::ProtocolAction::Wait:
      return to_opaque();
  }
}

void HttpConnection::to_opaque() {
  stop();
  if (FlowAttrs* a = host_.http_attrs()) {
    a->per_request = false;
    // Allowed so far because requests would be checked; as bytes, rules that need HTTP
    // attributes follow Istio's TCP semantics.
    if (!still_allowed(current_view(), *a)) return host_.http_finish(CloseReason::Denied, true);
  }
  to_relay();
}

void HttpConnection::to_relay() {
  // The client's bytes taken while detecting and not decoded go first, as they came.
  if (sniffed_at_ < sniffed_.size()) {
    std::string held = sniffed_.substr(sniffed_at_);
    std::string().swap(sniffed_);
    sniffed_at_ = 0;
    send_up(held);
  }
  host_.http_to_relay(*up_);
}

std::string_view HttpConnection::client_bytes() const {
  if (sniffed_at_ < sniffed_.size()) return std::string_view(sniffed_).substr(sniffed_at_);
  return replies::as_text(down_.peek());
}

void HttpConnection::consume_client(size_t n) {
  if (sniffed_at_ < sniffed_.size()) {
    sniffed_at_ += n;
    if (sniffed_at_ == sniffed_.size()) {
      std::string().swap(sniffed_);
      sniffed_at_ = 0;
    }
    return;
  }
  down_.consume(n);
}

// --- events ---

void HttpConnection::on_event(ByteChannel& ch, ChannelEvent event) {
  bool from_down = &ch == &down_;
  if (!from_down && &ch != up_) return;  // a retired upstream: the flow looks after it
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
  if (!from_down && !up_connected_) {
    if (event == ChannelEvent::Connected) return upstream_connected();
    if (event == ChannelEvent::Closed) return upstream_dial_failed();
    return;
  }
  switch (event) {
    case ChannelEvent::Data:
    case ChannelEvent::PeerEnd:
      return from_down ? pump_request() : pump_response();
    case ChannelEvent::Writable:
      if (!from_down) return pump_request();
      pump_response();
      return pump_request();  // a request held back until the client read its answers
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
  Timing t = timing_;
  timing_ = Timing::None;
  if (t == Timing::Detect && phase_ == Phase::Detect) {
    timed_out_ = true;
    return detect(false);
  }
  if (phase_ != Phase::Http1) return;
  if (t == Timing::Head && ex_.started && !ex_.head) {
    stats_.header_timeouts.inc();
    return local_reply(408, "", true, CloseReason::HttpError);
  }
  if (t == Timing::Dial && up_ != nullptr && !up_connected_) up_->cancel_dial();  // completes as a failure
}

// --- requests ---

void HttpConnection::pump_request() {
  while (phase_ == Phase::Http1) {
    if (ex_.finished) reset_exchange();
    auto st = request_decoder_->state();
    if (st != http::H1DecoderState::Parsing || upstream_blocked()) break;
    // A new request waits until the client has taken the answers before it: one answered
    // here (403, 404, 400) costs no upstream time, so a client pipelining such requests
    // without reading would otherwise have them queued in the proxy without bound.
    if (!ex_.started && !down_.writable()) break;
    std::string_view bytes = client_bytes();
    if (bytes.empty()) break;
    if (!ex_.started) {
      ex_.started = true;
      ex_.start = ctx_.loop.now();
      ex_.record.start_time = std::chrono::system_clock::now();
      timing_ = Timing::Head;
      ctx_.loop.schedule_after(timer_, options_.request_headers_timeout);
    }
    size_t n = request_decoder_->feed(bytes);
    consume_client(n);
    if (request_decoder_->state() == http::H1DecoderState::Error) return request_error(request_decoder_->error());
    after_request_feed();
    if (n == 0 && !ex_.finished) break;
  }
  if (phase_ != Phase::Http1) return;
  down_.want_read(!upstream_blocked());
  if (!down_ended_ && down_.peer_ended() && client_bytes().empty()) downstream_ended();
}

bool HttpConnection::upstream_blocked() const {
  // Only a request on its way to the upstream waits for it (its body); a head is decoded
  // first, since it decides where the request goes.
  if (!ex_.forwarded || ex_.request_done) return false;
  return !up_connected_ || up_ == nullptr || !up_->writable();
}

void HttpConnection::request_head(http::RequestHead head, const http::H1MessageInfo& info) {
  stats_.requests.inc();
  if (timing_ == Timing::Head) {
    ctx_.loop.cancel(timer_);
    timing_ = Timing::None;
  }
  ex_.head = true;
  ex_.method = head.method;
  ex_.version = head.version;
  ex_.keep_alive = info.keep_alive;
  ex_.connect = info.connect;
  ex_.upgrade = info.connect || !info.upgrade.empty();
  // An HTTP/1.0 request may come without Host: the address it was sent to stands in.
  if (head.authority.empty()) {
    const FlowAttrs* attrs = host_.http_attrs();
    head.authority = attrs != nullptr ? attrs->destination.to_string() : plan_->dialled.to_string();
  }
  ex_.authority = head.authority;
  describe_early(head);
  if (!info.connect && head.path != "*") {
    auto normalized = http::normalize_path(head.path);
    if (!normalized) {
      stats_.bad_paths.inc();
      ex_.reject_status = 400;
      return;
    }
    head.path = std::move(*normalized);
  }
  bool go = role_ == Role::Inbound ? decide_inbound(head) : decide_outbound(head);
  if (!go) {
    // A small body the client sends anyway (no 100-continue to wait for) is read and
    // dropped first, so the answer can keep the connection.
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
  // Outbound upstreams are kept for the next request whatever this client does.
  o.keep_alive = role_ == Role::Outbound || info.keep_alive;
  out_.clear();
  if (!request_encoder_.start_request(head, o, out_)) {
    end_endpoint(false);
    ex_.reject_status = 400;
    return;
  }
  ex_.forwarded = true;
  response_decoder_->expect(head.method, upgrade);
  send_up(out_);
}

void HttpConnection::describe_early(const http::RequestHead& head) {
  const MeshView& view = current_view();
  if (role_ == Role::Inbound) return describe_inbound(view.policy.get(), *host_.http_attrs(), head.authority, ex_.record);
  if (!view.policy) return;
  const policy::Workload* source = nullptr;
  for (const auto& ip : plan_->source.ips) {
    if ((source = view.policy->workloads().by_ip(ip)) != nullptr) break;
  }
  describe_outbound(*view.policy, source, plan_->source.identity.str(), view.policy->services().by_vip(plan_->dialled.ip()),
                    nullptr, ex_.record);
}

bool HttpConnection::decide_inbound(http::RequestHead& head) {
  const FlowAttrs& attrs = *host_.http_attrs();
  const MeshView& view = current_view();
  if (refuses(authorize_inbound_request(view.policy.get(), attrs, head))) {
    stats_.denied.inc();
    answer_here(403, replies::kDenied, std::nullopt);
    return false;
  }
  return true;
}

void HttpConnection::answer_here(int status, std::string_view body, std::optional<ResponseFlag> flag) {
  ex_.local_status = status;
  ex_.local_body = body;
  ex_.local_flag = flag;
}

void HttpConnection::request_body(std::string_view chunk) {
  if (!ex_.forwarded) return;  // denied or refused: the body is read and dropped
  ex_.record.request_body_bytes += chunk.size();
  if (request_encoder_.passes_through()) {
    send_up(chunk);  // no framing to add: one copy, into the channel
    return;
  }
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
  if (ex_.local_status != 0 && !ex_.response_done) {
    // With nothing left of the request to come the connection serves the next one; with a
    // body still to come (or an upgrade asked for) it closes after the answer.
    bool whole = ex_.request_done && request_decoder_->state() == http::H1DecoderState::MessageComplete;
    if (!whole && ex_.drainable) return;  // read and drop the rest of the body first
    local_reply(ex_.local_status, ex_.local_body, !whole || !ex_.keep_alive || down_ended_, CloseReason::Normal,
                ex_.local_flag, ex_.location);
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

// --- answers and records ---

void HttpConnection::local_reply(int status, std::string_view body, bool close, CloseReason reason,
                                 std::optional<ResponseFlag> flag, std::string_view location) {
  http::ResponseHead head;
  head.status = status;
  head.version = http::Version::Http11;
  if (!body.empty()) head.headers.add("content-type", "text/plain");
  if (!location.empty()) head.headers.add("location", location);
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
  if (!ex_.head && role_ == Role::Inbound) describe_inbound(current_view().policy.get(), *host_.http_attrs(), "", r);
  if (role_ == Role::Outbound) r.reporter = telemetry::Reporter::Source;
  r.duration = ctx_.loop.now() - ex_.start;
  r.request_protocol = telemetry::RequestProtocol::Http;
  ctx_.requests->record(r);
}

void HttpConnection::reset_exchange() {
  end_endpoint(true);
  ex_ = Exchange{};
  // An idle connection keeps no large scratch buffer (a chunked body piece may have grown it).
  if (out_.capacity() > kKeptScratch) std::string().swap(out_);
  if (request_decoder_->state() == http::H1DecoderState::MessageComplete ||
      request_decoder_->state() == http::H1DecoderState::Upgraded) {
    request_decoder_->resume();
  }
  if (response_decoder_->state() == http::H1DecoderState::MessageComplete) response_decoder_->resume();
}

bool HttpConnection::send_down(std::string_view bytes) {
  if (bytes.empty()) return down_.writable();
  host_.http_relay_stats().bytes_to_downstream.inc(bytes.size());
  return down_.write({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
}

bool HttpConnection::send_up(std::string_view bytes) {
  if (up_ == nullptr) return false;
  if (!up_connected_) {
    pending_up_.append(bytes);  // bounded: the decoder is not fed while the dial is pending
    return false;
  }
  if (bytes.empty()) return up_->writable();
  host_.http_relay_stats().bytes_to_upstream.inc(bytes.size());
  return up_->write({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
}

}  // namespace mesh::proxy
