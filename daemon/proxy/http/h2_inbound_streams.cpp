// H2Inbound: each stream — its request authorized and opened upstream, bodies and trailers
// relayed, resets passed on, answers given here, the record. The connections are in
// h2_inbound.cpp.
#include "daemon/proxy/http/h2_inbound.hpp"

#include "daemon/proxy/decide.hpp"
#include "daemon/proxy/http/http_connection.hpp"
#include "daemon/proxy/http/request_decision.hpp"
#include "daemon/proxy/mesh_view.hpp"
#include "daemon/telemetry/request_metrics.hpp"
#include "tunnel/http/h1_encoder.hpp"
#include "tunnel/http/path_normalize.hpp"

namespace mesh::proxy {

namespace http = tunnel::http;
using telemetry::ResponseFlag;

namespace {

constexpr std::string_view kDenied = "RBAC: access denied";
// Envoy's words for an application that failed before its response head.
constexpr std::string_view kReset = "upstream connect error or disconnect/reset before headers. reset reason: connection termination";

// What HTTP/2 forbids or a hop ends (RFC 9113 §8.2.2) and Host, which :authority replaces
// (the authority that was authorized is the one the application sees).
void strip_connection_fields(http::HeaderMap& h) {
  http::strip_hop_by_hop(h);
  h.remove("host");
}

}  // namespace

// --- requests ---

void H2Inbound::request(StreamId id, const Batch& b) {
  const http::RequestHead* req = server_->request(id);
  if (req == nullptr) return;
  stats_.requests.inc();
  stats_.h2_streams.inc();
  auto owned = std::make_unique<Exchange>();
  Exchange& e = *owned;
  streams_.emplace(id, std::move(owned));
  e.down = id;
  e.start = ctx_.loop.now();
  e.record.start_time = std::chrono::system_clock::now();
  e.request_end = b.ended_in(id) && !b.reset_in(id);
  http::RequestHead head = *req;
  const FlowAttrs& attrs = *host_.http_attrs();
  if (head.authority.empty()) head.authority = attrs.destination.to_string();
  const std::string* type = head.headers.get("content-type");
  e.grpc = type != nullptr && http::is_grpc(*type);
  const MeshView& view = current_view();
  describe_inbound(view.policy.get(), attrs, head.authority, e.record);
  if (client_done_ || ending_) {
    // Going away (a GOAWAY either way): not processed, so the client may retry it elsewhere.
    e.reset = true;
    server_->reset(id, kRefusedStream);
    return;
  }
  if (head.method != "CONNECT") {
    auto normalized = http::normalize_path(head.path);
    if (!normalized) {
      stats_.bad_paths.inc();
      return local_reply(e, 400, "", std::nullopt);
    }
    head.path = std::move(*normalized);
  }
  if (refuses(authorize_inbound_request(view.policy.get(), attrs, head))) {
    stats_.denied.inc();
    return local_reply(e, 403, kDenied, http::GrpcStatus::PermissionDenied);
  }
  if (const std::string* rid = head.headers.get("x-request-id"); rid == nullptr || rid->empty()) {
    head.headers.set("x-request-id", new_request_id(thread_random()));
  }
  strip_connection_fields(head.headers);
  e.head = std::move(head);
  if (!waiting_.empty()) {  // in order: an earlier stream waits for the application's limit
    e.waiting = true;
    waiting_.push_back(id);
    return;
  }
  open_upstream(e);
}

void H2Inbound::open_upstream(Exchange& e) {
  if (app_gone_) return unavailable(e);
  bool end = e.request_end && server_->readable(e.down) == 0 && server_->trailers(e.down) == nullptr;
  auto up = client_->open(e.head, end);
  if (!up) {
    if (up.error().code() == base::Errc::Limit) {
      // The application's SETTINGS_MAX_CONCURRENT_STREAMS: wait for one of ours to close.
      if (!e.waiting) waiting_.push_back(e.down);
      e.waiting = true;
      return;
    }
    if (up.error().code() == base::Errc::Invalid) return local_reply(e, 400, "", std::nullopt);
    return unavailable(e);  // the application's connection is going away
  }
  e.waiting = false;
  e.head = {};
  e.up = *up;
  upstream_[e.up] = &e;
  e.request_ended = end;
  if (!end) pump_request(e);
}

void H2Inbound::open_waiting() {
  while (!waiting_.empty() && !stopped_) {
    Exchange* e = by_down(waiting_.front());
    if (e == nullptr || !e->waiting) {
      waiting_.erase(waiting_.begin());
      continue;
    }
    if (!app_gone_ && client_->available_streams() == 0) return;
    waiting_.erase(waiting_.begin());
    e->waiting = false;
    open_upstream(*e);
  }
}

void H2Inbound::pump_request(Exchange& e) {
  if (e.down_closed) return;
  if (e.local || e.reset || e.up_closed || e.request_ended) {
    // Nowhere to go: read and dropped, so the connection window stays open.
    if (size_t n = server_->readable(e.down)) server_->consume(e.down, n);
    return;
  }
  if (e.up == 0) return;  // waiting: the bytes stay (the stream's window bounds them)
  while (!e.up_paused) {
    auto bytes = server_->peek(e.down);
    if (bytes.empty()) break;
    bool more = client_->write(e.up, bytes);
    e.record.request_body_bytes += bytes.size();
    server_->consume(e.down, bytes.size());
    if (!more) e.up_paused = true;
  }
  if (e.request_end && server_->readable(e.down) == 0) {
    e.request_ended = true;
    const http::HeaderMap* t = server_->trailers(e.down);
    if (t == nullptr || !client_->close_write(e.up, *t)) client_->close_write(e.up);
  }
}

void H2Inbound::down_closed(Exchange& e, uint32_t code) {
  if (code == 0 && e.response_ended && !e.request_end) {
    // Answered before the request ended (RFC 9113 §8.1: the rest is not needed): the
    // application's stream ends the same way.
    if (e.up != 0 && !e.up_closed && !e.reset) client_->reset(e.up, kNoError);
  } else if (code != 0 || !e.request_end) {
    // The client reset its stream: the application hears the same code.
    if (!e.reset) {
      e.reset = true;
      stats_.h2_resets[kDown].inc();
      if (!e.response_ended) e.record.response_flags.set(ResponseFlag::DownstreamConnectionTermination);
      if (e.up != 0 && !e.up_closed) client_->reset(e.up, code);
    }
  } else {
    pump_request(e);
  }
  e.waiting = false;
  e.down_closed = true;
  server_->release(e.down);
  maybe_done(e);
}

// --- responses ---

void H2Inbound::response(Exchange& e, const Batch& b) {
  const http::ResponseHead* r = client_->response(e.up);
  if (r == nullptr || e.down_closed || e.responded) return;
  http::ResponseHead head = *r;
  strip_connection_fields(head.headers);
  e.record.to_first_upstream_byte = ctx_.loop.now() - e.start;
  if (b.reset_in(e.up)) return;  // the RST_STREAM that follows is passed on instead
  e.record.response_code = static_cast<uint16_t>(head.status);
  if (b.ended_in(e.up)) e.response_end = true;
  bool end = e.response_end && client_->readable(e.up) == 0 && client_->trailers(e.up) == nullptr;
  if (e.grpc && end) {  // trailers-only
    if (const std::string* g = head.headers.get("grpc-status")) {
      if (auto s = http::parse_grpc_status(*g)) e.record.grpc_status = static_cast<uint8_t>(*s);
    }
  }
  if (!server_->respond(e.down, head, end)) {
    // A status or field the client must not see (nghttp2 refused it): 502, as Envoy answers.
    e.record.response_flags.set(ResponseFlag::UpstreamProtocolError);
    client_->reset(e.up, kCancel);
    return local_reply(e, 502, "", http::GrpcStatus::Unavailable);
  }
  e.responded = true;
  e.response_ended = end;
  if (!end) pump_response(e);
}

void H2Inbound::pump_response(Exchange& e) {
  if (e.up == 0 || e.up_released) return;
  if (e.down_closed || e.reset || e.local) {
    if (size_t n = client_->readable(e.up)) client_->consume(e.up, n);
  } else if (e.responded && !e.response_ended) {
    while (!e.down_paused) {
      auto bytes = client_->peek(e.up);
      if (bytes.empty()) break;
      bool more = server_->write(e.down, bytes);
      e.record.response_body_bytes += bytes.size();
      client_->consume(e.up, bytes.size());
      if (!more) e.down_paused = true;
    }
    if (e.response_end && client_->readable(e.up) == 0) {
      e.response_ended = true;
      const http::HeaderMap* t = client_->trailers(e.up);
      if (e.grpc && t != nullptr) {
        if (const std::string* g = t->get("grpc-status")) {
          if (auto s = http::parse_grpc_status(*g)) e.record.grpc_status = static_cast<uint8_t>(*s);
        }
      }
      http::HeaderMap trailers = t ? *t : http::HeaderMap{};
      strip_connection_fields(trailers);
      if (trailers.empty() || !server_->close_write(e.down, std::move(trailers))) server_->close_write(e.down);
    }
  }
  if (e.up_closed && client_->readable(e.up) == 0) {
    e.up_released = true;
    upstream_.erase(e.up);
    client_->release(e.up);
    open_waiting();
    maybe_done(e);
  }
}

void H2Inbound::up_closed(Exchange& e, uint32_t code) {
  e.up_closed = true;
  if ((code != 0 || !e.response_end) && !e.reset && !e.local) {
    // The application reset its stream (or refused it while draining): the client hears the
    // same code, not a 502 — it may retry a REFUSED_STREAM itself.
    e.reset = true;
    stats_.h2_resets[kUp].inc();
    e.record.response_flags.set(ResponseFlag::UpstreamRemoteReset);
    if (!e.down_closed) server_->reset(e.down, code);
  }
  pump_response(e);
}

// --- answers here ---

void H2Inbound::local_reply(Exchange& e, int status, std::string_view body, std::optional<http::GrpcStatus> grpc,
                            std::optional<ResponseFlag> flag) {
  e.local = true;
  e.waiting = false;
  if (flag) e.record.response_flags.set(*flag);
  if (e.responded || e.down_closed) {
    if (!e.down_closed) server_->reset(e.down, kInternalError);
    e.reset = true;
    return maybe_done(e);
  }
  e.responded = e.response_ended = true;
  if (e.grpc && grpc) {
    e.record.response_code = 200;
    e.record.grpc_status = static_cast<uint8_t>(*grpc);
    (void)server_->respond(e.down, http::grpc_trailers_only(*grpc, body), true);
  } else {
    http::ResponseHead head;
    head.status = status;
    if (!body.empty()) {
      head.headers.add("content-type", "text/plain");
      head.headers.add("content-length", std::to_string(body.size()));
    }
    e.record.response_code = static_cast<uint16_t>(status);
    e.record.response_body_bytes = body.size();
    if (server_->respond(e.down, head, body.empty()) && !body.empty()) {
      server_->write(e.down, {reinterpret_cast<const uint8_t*>(body.data()), body.size()});
      server_->close_write(e.down);
    }
  }
  pump_request(e);  // what the request still holds is dropped
  maybe_done(e);
}

void H2Inbound::unavailable(Exchange& e) {
  local_reply(e, 503, kReset, http::GrpcStatus::Unavailable, ResponseFlag::UpstreamConnectionTermination);
}

void H2Inbound::maybe_done(Exchange& e) {
  if (!e.down_closed || (e.up != 0 && !e.up_released)) return;
  record(e);
  StreamId id = e.down;
  streams_.erase(id);  // `e` is gone
}

void H2Inbound::record(Exchange& e) {
  if (e.recorded) return;
  e.recorded = true;
  if (ctx_.requests == nullptr) return;
  auto& r = e.record;
  r.duration = ctx_.loop.now() - e.start;
  r.request_protocol = e.grpc ? telemetry::RequestProtocol::Grpc : telemetry::RequestProtocol::Http;
  r.reporter = telemetry::Reporter::Destination;
  // A gRPC response that ended without grpc-status stands for the status its HTTP one maps
  // to (http-grpc-status-mapping.md); a reset one has none.
  if (e.grpc && !r.grpc_status && r.response_code != 0 && e.response_ended && !e.reset) {
    r.grpc_status = static_cast<uint8_t>(http::grpc_status_from_http(r.response_code));
  }
  ctx_.requests->record(r);
}

}  // namespace mesh::proxy
