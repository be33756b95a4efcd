// HttpConnection, continued: the upstream side — the client side's routing and its upstream
// connections, and every response (see http_connection.hpp).
#include "daemon/proxy/http/http_connection.hpp"

#include <charconv>

#include "daemon/proxy/decide.hpp"
#include "daemon/proxy/http/cluster_cache.hpp"
#include "daemon/proxy/http/http_stats.hpp"
#include "daemon/proxy/http/local_replies.hpp"
#include "daemon/proxy/http/outbound_route.hpp"
#include "daemon/proxy/http/request_decision.hpp"
#include "daemon/proxy/mesh_view.hpp"

namespace mesh::proxy {

namespace http = tunnel::http;
using telemetry::ResponseFlag;

namespace {

// The Content-Length of a bodiless response (HEAD), when it is one well-formed number.
std::optional<uint64_t> head_content_length(const http::HeaderMap& headers) {
  const std::string* v = headers.get("content-length");
  if (v == nullptr || v->empty() || headers.get_all("content-length").size() != 1) return std::nullopt;
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size()) return std::nullopt;
  return n;
}

}  // namespace

bool HttpConnection::decide_outbound(http::RequestHead& head) {
  const MeshView& view = current_view();
  ex_.snapshot = view.policy;
  const policy::CompiledPolicy* p = ex_.snapshot.get();
  const policy::Service* dialled = p != nullptr ? p->services().by_vip(plan_->dialled.ip()) : nullptr;
  if (dialled == nullptr) {
    // A reload removed the service this connection was made to.
    answer_here(503, replies::kNoHealthyUpstream, ResponseFlag::NoHealthyUpstream);
    return false;
  }
  const policy::Workload* source = nullptr;
  for (const auto& ip : plan_->source.ips) {
    if ((source = p->workloads().by_ip(ip)) != nullptr) break;
  }
  std::string_view source_identity = plan_->source.identity.str();
  describe_outbound(*p, source, source_identity, dialled, nullptr, ex_.record);
  OutboundRoute r = route_outbound(*p, *dialled, plan_->dialled.port(), head, source, thread_random());
  if (r.decision.route != nullptr) ex_.record.route_name = r.decision.route->id;
  if (r.decision.rule != nullptr) ex_.record.rule_name = r.decision.rule->name;
  switch (r.verdict) {
    case OutboundRoute::Verdict::NotFound:
      stats_.no_route.inc();
      answer_here(404, "", ResponseFlag::NoRouteFound);
      return false;
    case OutboundRoute::Verdict::Redirect:
      stats_.redirects.inc();
      ex_.location = std::move(r.location);
      answer_here(r.redirect_code, "", std::nullopt);
      return false;
    case OutboundRoute::Verdict::NoEndpoint:
      answer_here(503, replies::kNoHealthyUpstream, ResponseFlag::NoHealthyUpstream);
      return false;
    case OutboundRoute::Verdict::Forward:
      break;
  }
  const policy::RouteActions& actions = *r.decision.actions;
  policy::apply_header_ops(actions.request_headers, head.headers);
  if (actions.path_rewrite.enabled()) head.path = policy::rewrite_path(actions.path_rewrite, head.path, r.decision.match);
  if (!actions.authority_rewrite.empty()) head.authority = actions.authority_rewrite;
  ex_.response_ops = &actions.response_headers;

  upstream::Cluster& cluster = ctx_.clusters->get(ex_.snapshot, r, plan_->dialled.ip());
  const base::IpAddr& client_ip = plan_->source.ips.empty() ? plan_->dialled.ip() : plan_->source.ips.front();
  upstream::PickContext pick_ctx{thread_random(), hash_key(*r.traffic, head, client_ip)};
  upstream::Pick pick = cluster.pick(pick_ctx);
  if (pick.status != upstream::PickStatus::Endpoint || pick.endpoint == nullptr) {
    answer_here(503, replies::kNoHealthyUpstream, ResponseFlag::NoHealthyUpstream);
    return false;
  }
  ex_.endpoint = pick.endpoint;
  ex_.endpoint->begin_request();
  base::SocketAddr endpoint = ex_.endpoint->address();
  describe_outbound(*p, source, source_identity, r.service, &endpoint, ex_.record);
  if (!use_upstream(endpoint)) {
    end_endpoint(false);
    stats_.upstream_dial_failures.inc();
    answer_here(503, replies::kConnectFailure, ResponseFlag::UpstreamConnectionFailure);
    return false;
  }
  return true;
}

// --- outbound upstreams ---

bool HttpConnection::use_upstream(const base::SocketAddr& endpoint) {
  if (up_ != nullptr && up_endpoint_ == endpoint && !up_->peer_ended() && up_->fault() == ChannelFault::None &&
      response_decoder_->state() == http::H1DecoderState::Parsing) {
    return true;  // the connection the last request to this endpoint used
  }
  drop_upstream();
  FlowTarget target = decide_endpoint(current_view(), plan_->source, endpoint, plan_->ports);
  if (target.reject != RejectReason::kCount) return false;
  ByteChannel* ch = host_.http_dial(target);
  if (ch == nullptr) return false;
  stats_.upstream_dials.inc();
  up_ = ch;
  up_endpoint_ = endpoint;
  up_connected_ = false;
  response_decoder_ = std::make_unique<http::H1ResponseDecoder>(response_events_);
  timing_ = Timing::Dial;
  ctx_.loop.schedule_after(timer_, kDialTimeout);
  return true;
}

void HttpConnection::drop_upstream() {
  if (up_ == nullptr) return;
  ByteChannel* old = up_;
  up_ = nullptr;
  up_connected_ = true;
  pending_up_.clear();
  if (timing_ == Timing::Dial) {
    ctx_.loop.cancel(timer_);
    timing_ = Timing::None;
  }
  host_.http_retire(*old);
}

void HttpConnection::upstream_connected() {
  up_connected_ = true;
  if (timing_ == Timing::Dial) {
    ctx_.loop.cancel(timer_);
    timing_ = Timing::None;
  }
  up_->want_read(true);
  if (!pending_up_.empty()) {
    std::string bytes = std::move(pending_up_);
    pending_up_.clear();
    send_up(bytes);
  }
  pump_request();
  if (phase_ == Phase::Http1) pump_response();
}

void HttpConnection::upstream_dial_failed() {
  drop_upstream();
  end_endpoint(false);
  if (ex_.forwarded && !ex_.response_started) {
    stats_.upstream_dial_failures.inc();
    ex_.forwarded = false;  // nothing of it reached an upstream
    // Answered here; the connection carries on when nothing of the request is left to come.
    bool whole = ex_.request_done;
    local_reply(503, replies::kConnectFailure, !whole || !ex_.keep_alive || down_ended_, CloseReason::Normal,
                ResponseFlag::UpstreamConnectionFailure);
    if (phase_ == Phase::Http1) pump_request();
  }
}

void HttpConnection::end_endpoint(bool success) {
  if (ex_.endpoint == nullptr) return;
  ex_.endpoint->record_result(ctx_.loop.now() - ex_.start, success);
  ex_.endpoint->end_request();
  ex_.endpoint = nullptr;
}

// --- responses ---

void HttpConnection::pump_response() {
  while (phase_ == Phase::Http1 && up_ != nullptr && up_connected_) {
    if (!down_.writable()) break;
    auto bytes = up_->peek();
    if (bytes.empty()) break;
    if (response_decoder_->state() != http::H1DecoderState::Parsing) break;
    size_t n = response_decoder_->feed(replies::as_text(bytes));
    up_->consume(n);
    if (response_decoder_->state() == http::H1DecoderState::Error) return response_error(response_decoder_->error());
    if (ex_.reject_status != 0) return response_error(http::H1Error::Malformed);
    if (ex_.response_done) {
      response_finished();
      continue;
    }
    if (n == 0) break;
  }
  if (phase_ != Phase::Http1 || up_ == nullptr || !up_connected_) return;
  up_->want_read(down_.writable());
  if (up_->peer_ended() && up_->peek().empty()) upstream_ended();
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
  if (ex_.response_ops != nullptr) policy::apply_header_ops(*ex_.response_ops, head.headers);
  bool keep = ex_.keep_alive && info.keep_alive && !down_ended_;
  ex_.close_after = !keep && !ex_.switching;
  http::H1EncodeOptions o;
  if (info.framing == http::H1BodyFraming::ContentLength) o.content_length = info.content_length;
  // A response to HEAD has no body but may state the GET's length: the encoder writes the
  // field (framing fields are re-encoded, not copied) only from this option.
  if (ex_.method == "HEAD") o.content_length = head_content_length(head.headers);
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
  if (response_encoder_.passes_through()) {
    send_down(chunk);  // no framing to add: one copy, into the channel
    return;
  }
  out_.clear();
  response_encoder_.body(chunk, out_);
  send_down(out_);
}

void HttpConnection::response_finished() {
  out_.clear();
  const http::Trailers* t = ex_.response_trailers.empty() ? nullptr : &ex_.response_trailers;
  if (!response_encoder_.finish(t, out_)) (void)response_encoder_.finish(nullptr, out_);
  send_down(out_);
  end_endpoint(ex_.record.response_code < 500);
  record();
  if (ex_.switching) {
    stats_.upgrades.inc();
    stop();
    return to_relay();  // what either side sent after the heads goes on as bytes
  }
  // The application answered before the request's body was done (an early 413, say): the
  // rest of that body has nowhere to go, so the connection ends with this response.
  bool upstream_done = response_decoder_->state() == http::H1DecoderState::Closed;
  if (role_ == Role::Outbound && upstream_done && !ex_.close_after && !down_ended_ && ex_.request_done) {
    drop_upstream();  // the upstream closes this one: the next request dials again
    upstream_done = false;
  }
  if (ex_.close_after || down_ended_ || !ex_.request_done || upstream_done) return finish(CloseReason::Normal, false);
  ex_.finished = true;
  pump_request();
}

void HttpConnection::response_error(http::H1Error e) {
  stats_.response_errors[static_cast<size_t>(e)].inc();
  ex_.record.response_flags.set(ResponseFlag::UpstreamProtocolError);
  end_endpoint(false);
  if (ex_.forwarded && !ex_.response_started) {
    return local_reply(502, replies::kProtocolError, true, CloseReason::HttpError);
  }
  if (ex_.head) record();
  finish(CloseReason::HttpError, true);
}

void HttpConnection::upstream_ended() {
  if (ex_.forwarded && !ex_.response_done) {
    response_decoder_->finish();
    if (ex_.response_done) return response_finished();  // a body delimited by the close
    end_endpoint(false);
    if (!ex_.response_started) {
      return local_reply(503, replies::kReset, true, CloseReason::Normal, ResponseFlag::UpstreamConnectionTermination);
    }
    // Cut mid-body: the client must not take what it got for a whole response.
    ex_.record.response_flags.set(ResponseFlag::UpstreamConnectionTermination);
    record();
    return finish(CloseReason::UpstreamReset, true);
  }
  // Between requests the upstream closed its keep-alive connection. Outbound, the next
  // request dials again; inbound (one application connection per client connection) the
  // client's connection ends too (a request still arriving, or refused here, with it).
  if (role_ == Role::Outbound) return drop_upstream();
  finish(CloseReason::Normal, false);
}

void HttpConnection::upstream_failed() {
  end_endpoint(false);
  if (role_ == Role::Outbound && !(ex_.forwarded && !ex_.response_done)) return drop_upstream();
  if (ex_.forwarded && !ex_.response_started) {
    return local_reply(503, replies::kReset, true, CloseReason::UpstreamReset, ResponseFlag::UpstreamConnectionTermination);
  }
  if (ex_.forwarded && !ex_.response_done) {
    ex_.record.response_flags.set(ResponseFlag::UpstreamConnectionTermination);
    record();
  }
  finish(CloseReason::UpstreamReset, true);
}

}  // namespace mesh::proxy
