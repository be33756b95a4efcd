// H2Inbound: the connections — the engines, the channels' events, the event loop, failures
// and the end of the flow. Each stream's request and response are in h2_inbound_streams.cpp.
#include "daemon/proxy/http/h2_inbound.hpp"

#include <algorithm>

#include "daemon/base/clock.hpp"
#include "daemon/proxy/channel/channel_flow.hpp"
#include "daemon/proxy/http/http_connection.hpp"

namespace mesh::proxy {

namespace http = tunnel::http;
using telemetry::ResponseFlag;

namespace {

bool contains(const std::vector<http::StreamId>& v, http::StreamId id) { return std::find(v.begin(), v.end(), id) != v.end(); }

}  // namespace

size_t ChannelSink::push() {
  size_t n = staged_.size();
  if (n == 0) return 0;
  channel_.write(staged_);
  staged_.clear();
  return n;
}

bool H2Inbound::Batch::ended_in(StreamId id) const { return contains(ended, id); }
bool H2Inbound::Batch::reset_in(StreamId id) const { return contains(reset, id); }

H2Inbound::H2Inbound(WorkerContext& ctx, HttpConnectionHost& host, ByteChannel& down, ByteChannel& up)
    : ctx_(ctx), host_(host), down_(down), up_(up), stats_(*ctx.http_stats), down_sink_(down), up_sink_(up) {}

H2Inbound::~H2Inbound() { stop(); }

void H2Inbound::start(std::string_view already_read) {
  const base::Clock& clock = base::SystemClock::instance();
  auto server = http::H2Server::create(down_sink_, clock);
  // As many streams to the application as the client may open here; the application's
  // SETTINGS may lower it (streams then wait, see open_upstream()).
  http::H2Options o = http::H2Options::client();
  o.max_concurrent_streams = http::H2Options::server().max_concurrent_streams;
  auto client = http::H2Client::create(up_sink_, clock, o);
  if (!server || !client) {
    stopped_ = true;
    return host_.http_finish(CloseReason::Error, true);
  }
  server_ = std::move(*server);
  client_ = std::move(*client);
  down_.want_read(true);
  up_.want_read(true);
  if (!already_read.empty() &&
      !server_->receive({reinterpret_cast<const uint8_t*>(already_read.data()), already_read.size()})) {
    client_failed_ = true;
  }
  read(down_, *server_, true);
  read(up_, *client_, false);
  pump();
}

void H2Inbound::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& [id, e] : streams_) {
    if (e->recorded) continue;
    if (!e->response_ended) {
      e->record.response_flags.set(app_gone_ ? ResponseFlag::UpstreamConnectionTermination
                                             : ResponseFlag::DownstreamConnectionTermination);
    }
    record(*e);
  }
}

H2Inbound::Exchange* H2Inbound::by_down(StreamId id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

H2Inbound::Exchange* H2Inbound::by_up(StreamId id) {
  auto it = upstream_.find(id);
  return it == upstream_.end() ? nullptr : it->second;
}

// --- the loop ---

void H2Inbound::on_event(ByteChannel& ch, ChannelEvent event) {
  if (stopped_) return;
  bool from_down = &ch == &down_;
  switch (event) {
    case ChannelEvent::Data:
    case ChannelEvent::PeerEnd:
      read(ch, from_down ? static_cast<http::H2Connection&>(*server_) : *client_, from_down);
      break;
    case ChannelEvent::Writable:
      break;  // pump() flushes what waited
    case ChannelEvent::Closed:
      if (ch.fault() != ChannelFault::None) {
        if (!from_down) {
          upstream_failed();
          break;
        }
        // The client's connection is gone: nothing more can reach it.
        for (auto& [id, e] : streams_) {
          if (!e->response_ended) e->record.response_flags.set(ResponseFlag::DownstreamConnectionTermination);
        }
        stop();
        return host_.http_finish(ChannelFlow::reason_for(ch), true);
      }
      read(ch, from_down ? static_cast<http::H2Connection&>(*server_) : *client_, from_down);
      break;
    case ChannelEvent::Connected:
    case ChannelEvent::Quiet:
      return;
  }
  pump();
}

void H2Inbound::read(ByteChannel& ch, http::H2Connection& engine, bool from_down) {
  if (stopped_) return;
  bool failed = from_down ? client_failed_ : app_gone_;
  while (!failed) {
    auto bytes = ch.peek();
    if (bytes.empty()) break;
    auto st = engine.receive(bytes);
    ch.consume(bytes.size());
    if (!st) failed = true;
  }
  if (check_failures()) return;
  if (!(ch.peer_ended() || ch.fault() != ChannelFault::None) || !ch.peek().empty()) return;
  if (from_down) {
    // FIN: an HTTP/2 client that ends its side has given up on the connection (Envoy's codec
    // takes it so too): its open streams are cancelled at the application.
    client_done_ = true;
    for (auto& [id, e] : streams_) {
      if (!e->response_ended) e->record.response_flags.set(ResponseFlag::DownstreamConnectionTermination);
    }
    if (!streams_.empty()) downstream_failed(CloseReason::Normal);
  } else if (!app_gone_) {
    upstream_failed();  // the application closed its connection
  }
}

bool H2Inbound::check_failures() {
  if (!client_failed_ && server_->failure() != http::ConnectionFailure::None) {
    client_failed_ = true;
    http::ConnectionFailure f = server_->failure();
    stats_.h2_failures[kDown][static_cast<size_t>(f)].inc();
    // The GOAWAY goes out first (see check_end()).
    downstream_failed(f == http::ConnectionFailure::PeerGoAwayError ? CloseReason::DownstreamReset : CloseReason::HttpError);
    return true;
  }
  if (!app_gone_ && client_->failure() != http::ConnectionFailure::None) {
    stats_.h2_failures[kUp][static_cast<size_t>(client_->failure())].inc();
    upstream_failed();
    return true;
  }
  return false;
}

void H2Inbound::pump() {
  if (pumping_) {
    again_ = true;
    return;
  }
  pumping_ = true;
  do {
    again_ = false;
    dispatch();
    for (int rounds = 0; rounds < 64 && !stopped_; ++rounds) {
      // Sending produces events too (a stream Closed after our END_STREAM, Writable).
      flush();
      if (stopped_ || check_failures() || dispatch() == 0) break;
    }
  } while (again_ && !stopped_);
  pumping_ = false;
  check_end();
}

void H2Inbound::flush() {
  // flush() stops at the engine's output budget: while the channel took everything and the
  // engine has more, go on — no event would come to resume it (the peer may be waiting for
  // exactly these bytes). The channel's limit ends the loop, or the engine running dry.
  auto out = [this](http::H2Connection& engine, ChannelSink& sink, ByteChannel& ch, base::Counter& bytes) {
    do {
      engine.flush();
      size_t n = sink.push();
      if (n == 0) break;
      bytes.inc(n);
    } while (!stopped_ && ch.writable() && engine.wants_write());
  };
  out(*server_, down_sink_, down_, host_.http_relay_stats().bytes_to_downstream);
  if (stopped_) return;
  out(*client_, up_sink_, up_, host_.http_relay_stats().bytes_to_upstream);
}

size_t H2Inbound::dispatch() {
  size_t handled = 0;
  for (int side = 0; side < 2 && !stopped_; ++side) {
    http::H2Connection& engine = side == 0 ? static_cast<http::H2Connection&>(*server_) : *client_;
    Batch b;
    http::Event ev;
    while (engine.next_event(ev)) b.events.push_back(ev);
    for (const auto& e : b.events) {
      if (e.kind == http::EventKind::PeerEnd) b.ended.push_back(e.stream);
      if (e.kind == http::EventKind::Closed && e.code != 0) b.reset.push_back(e.stream);
    }
    for (const auto& e : b.events) {
      if (stopped_) break;
      if (side == 0) server_event(e, b);
      else client_event(e, b);
    }
    handled += b.events.size();
  }
  return handled;
}

void H2Inbound::server_event(const http::Event& ev, const Batch& b) {
  if (ev.kind == http::EventKind::Request) return request(ev.stream, b);
  if (ev.kind == http::EventKind::GoAway) {
    client_done_ = true;  // with an error code the engine failed too (check_failures())
    return;
  }
  Exchange* e = by_down(ev.stream);
  if (e == nullptr) {
    if (ev.kind == http::EventKind::Closed) server_->release(ev.stream);
    return;
  }
  switch (ev.kind) {
    case http::EventKind::Data:
      return pump_request(*e);
    case http::EventKind::PeerEnd:
      e->request_end = true;
      return pump_request(*e);
    case http::EventKind::Writable:
      e->down_paused = false;
      return pump_response(*e);
    case http::EventKind::Closed:
      return down_closed(*e, ev.code);
    default:
      return;
  }
}

void H2Inbound::client_event(const http::Event& ev, const Batch& b) {
  if (ev.kind == http::EventKind::GoAway) {
    // The application drains: streams it will not process are closed REFUSED_STREAM (passed
    // on, so the client may retry them); new ones are refused, and the client is told too.
    server_->drain();
    client_done_ = true;
    return;
  }
  Exchange* e = by_up(ev.stream);
  if (e == nullptr) {
    if (ev.kind == http::EventKind::Closed) client_->release(ev.stream);
    return;
  }
  switch (ev.kind) {
    case http::EventKind::Response:
      return response(*e, b);
    case http::EventKind::Data:
      return pump_response(*e);
    case http::EventKind::PeerEnd:
      e->response_end = true;
      return pump_response(*e);
    case http::EventKind::Writable:
      e->up_paused = false;
      return pump_request(*e);
    case http::EventKind::Closed:
      return up_closed(*e, ev.code);
    default:
      return;
  }
}

// --- connections ---

void H2Inbound::downstream_failed(CloseReason reason) {
  // Every stream goes with the client's connection; the application's are cancelled.
  for (auto& [id, e] : streams_) {
    if (e->up != 0 && !e->up_closed && !e->reset) client_->reset(e->up, kCancel);
    e->reset = true;
  }
  end(reason);
}

void H2Inbound::upstream_failed() {
  app_gone_ = true;
  std::vector<Exchange*> open;
  for (auto& [id, e] : streams_) open.push_back(e.get());
  for (Exchange* e : open) {
    if (e->local || e->reset || e->down_closed) continue;
    if (e->up == 0 && !e->waiting) continue;
    if (e->up != 0) {
      upstream_.erase(e->up);
      e->up_closed = e->up_released = true;
    }
    if (!e->responded) {
      unavailable(*e);
    } else if (!e->response_ended) {
      e->record.response_flags.set(ResponseFlag::UpstreamConnectionTermination);
      e->reset = true;
      server_->reset(e->down, kInternalError);
    }
  }
  waiting_.clear();
  server_->drain();
  client_done_ = true;
  if (streams_.empty()) end(CloseReason::Normal);
  else if (!ending_) end(CloseReason::UpstreamReset);
}

void H2Inbound::end(CloseReason reason) {
  if (!ending_) ending_ = reason;
}

void H2Inbound::check_end() {
  if (stopped_) return;
  if (!ending_ && client_done_ && streams_.empty()) ending_ = CloseReason::Normal;
  if (!ending_) return;
  // The last frames (answers, GOAWAY) are in the client's channel or still with the engine:
  // wait until the channel took them.
  if (server_->wants_write() || !down_.writable()) return;
  CloseReason reason = *ending_;
  stop();
  host_.http_finish(reason, false);
}

}  // namespace mesh::proxy
