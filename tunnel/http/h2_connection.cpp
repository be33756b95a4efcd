// H2Connection: session set-up and the caller-facing API. The nghttp2 callbacks are in
// h2_callbacks.cpp.
#include "tunnel/http/h2_connection.hpp"

#include <nghttp2/nghttp2.h>

#include <fmt/format.h>

#include "daemon/base/check.hpp"

namespace mesh::tunnel::http {

using base::Errc;
using base::fail;

H2Connection::H2Connection(ByteSink& sink, const base::Clock& clock, const H2Options& options, bool server)
    : options_(options),
      server_(server),
      sink_(sink),
      clock_(clock),
      settings_bucket_(options.flood.settings, clock.now()),
      ping_bucket_(options.flood.ping, clock.now()),
      ignored_bucket_(options.flood.ignored, clock.now()),
      empty_data_bucket_(options.flood.empty_data, clock.now()),
      reset_bucket_(options.flood.resets, clock.now()),
      refused_bucket_(options.flood.refused, clock.now()) {}

H2Connection::~H2Connection() { nghttp2_session_del(session_); }

detail::Stream* H2Connection::find(StreamId id) const {
  auto it = streams_.find(id);
  return it == streams_.end() || it->second->released ? nullptr : it->second.get();
}

std::unique_ptr<detail::Stream> H2Connection::new_stream(StreamId id) { return std::make_unique<detail::Stream>(id); }

detail::Stream& H2Connection::add_stream(StreamId id) {
  auto [it, inserted] = streams_.emplace(id, new_stream(id));
  MESH_CHECK(inserted);
  ++open_streams_;
  return *it->second;
}

void H2Connection::push(Event ev) { events_.push_back(ev); }

bool H2Connection::next_event(Event& out) {
  if (next_event_ == events_.size()) {
    events_.clear();
    next_event_ = 0;
    return false;
  }
  out = events_[next_event_++];
  return true;
}

void H2Connection::set_failure(ConnectionFailure f, std::string detail) {
  if (failure_ == ConnectionFailure::None) {
    failure_ = f;
    failure_detail_ = std::move(detail);
  }
}

bool H2Connection::take(TokenBucket& bucket, ConnectionFailure f, const char* what) {
  if (bucket.take(clock_.now())) return true;
  set_failure(f, fmt::format("{} flood", what));
  return false;
}

base::Status H2Connection::receive(std::span<const uint8_t> plaintext) {
  if (failure_ != ConnectionFailure::None && failure_ != ConnectionFailure::PeerGoAwayError) {
    return fail(Errc::Closed, "HTTP/2 connection already failed");
  }
  ssize_t n = nghttp2_session_mem_recv(session_, plaintext.data(), plaintext.size());
  if (n < 0) {
    int err = static_cast<int>(n);
    switch (err) {
      case NGHTTP2_ERR_BAD_CLIENT_MAGIC: set_failure(ConnectionFailure::BadPreface, "bad client magic"); break;
      case NGHTTP2_ERR_FLOODED: set_failure(ConnectionFailure::FloodOutboundQueue, "peer does not read our ACKs"); break;
      case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS:
        set_failure(ConnectionFailure::FloodContinuation, "too many CONTINUATION frames");
        break;
      case NGHTTP2_ERR_NOMEM: set_failure(ConnectionFailure::Internal, "out of memory"); break;
      default: set_failure(ConnectionFailure::ProtocolError, nghttp2_strerror(err)); break;
    }
    // A flood is answered with ENHANCE_YOUR_CALM, the rest with PROTOCOL_ERROR; flush() sends it.
    bool flood = failure_ >= ConnectionFailure::FloodSettings && failure_ <= ConnectionFailure::FloodOutboundQueue;
    if (failure_ != ConnectionFailure::BadPreface) {
      nghttp2_session_terminate_session(session_, flood ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR);
    }
    return fail(Errc::Invalid, fmt::format("HTTP/2: {}", to_string(failure_)));
  }
  if (failure_ != ConnectionFailure::None && failure_ != ConnectionFailure::PeerGoAwayError) {
    return fail(Errc::Invalid, fmt::format("HTTP/2: {}", to_string(failure_)));
  }
  return base::ok();
}

void H2Connection::flush() {
  if (failure_ == ConnectionFailure::BadPreface) return;
  int rv = nghttp2_session_send(session_);
  if (rv != 0 && failure_ == ConnectionFailure::None) set_failure(ConnectionFailure::Internal, nghttp2_strerror(rv));
}

bool H2Connection::wants_write() const {
  return failure_ != ConnectionFailure::BadPreface && nghttp2_session_want_write(session_) != 0;
}

bool H2Connection::done() const {
  if (failure_ != ConnectionFailure::None && failure_ != ConnectionFailure::PeerGoAwayError) return !wants_write();
  return nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0;
}

void H2Connection::ping() { nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr); }

void H2Connection::drain() {
  if (goaway_sent_) return;
  int32_t last = server_ ? nghttp2_session_get_last_proc_stream_id(session_) : 0;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, last, NGHTTP2_NO_ERROR, nullptr, 0);
  goaway_sent_ = true;
}

// --- streams ---

size_t H2Connection::readable(StreamId id) const {
  const detail::Stream* s = find(id);
  return s ? s->rx.size() : 0;
}

std::span<const uint8_t> H2Connection::peek(StreamId id) const {
  const detail::Stream* s = find(id);
  return s ? s->rx.front() : std::span<const uint8_t>{};
}

size_t H2Connection::gather(StreamId id, std::span<iovec> out) const {
  const detail::Stream* s = find(id);
  return s ? s->rx.gather(out) : 0;
}

void H2Connection::consume(StreamId id, size_t n) {
  detail::Stream* s = find(id);
  if (!s) return;
  n = std::min(n, s->rx.size());
  s->rx.consume(n);
  // Reopens the stream and connection windows (WINDOW_UPDATE once half a window is used).
  nghttp2_session_consume(session_, id, n);
}

bool H2Connection::peer_ended(StreamId id) const {
  const detail::Stream* s = find(id);
  return s == nullptr || s->peer_ended || s->closed;
}

void H2Connection::resume(detail::Stream& s) {
  if (s.open && s.data_deferred && !s.closed) {
    s.data_deferred = false;
    nghttp2_session_resume_data(session_, s.id);
  }
}

bool H2Connection::write(StreamId id, std::span<const uint8_t> bytes) {
  detail::Stream* s = find(id);
  if (!s || s->closed || s->end_requested) return false;
  s->tx.append(bytes);
  resume(*s);
  if (s->tx.size() >= options_.stream_send_buffer) {
    s->tx_paused = true;
    return false;
  }
  return true;
}

size_t H2Connection::send_buffered(StreamId id) const {
  const detail::Stream* s = find(id);
  return s ? s->tx.size() : 0;
}

void H2Connection::close_write(StreamId id) {
  detail::Stream* s = find(id);
  if (!s || s->end_requested) return;
  s->end_requested = true;
  resume(*s);
}

const HeaderMap* H2Connection::trailers(StreamId id) const {
  const detail::Stream* s = find(id);
  return s && s->peer_ended && !s->trailers.empty() ? &s->trailers : nullptr;
}

void H2Connection::submit_rst(StreamId id, uint32_t code) {
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, code);
}

void H2Connection::reset(StreamId id, uint32_t h2_error_code) {
  detail::Stream* s = find(id);
  if (s && !s->closed) submit_rst(id, h2_error_code);
}

void H2Connection::release(StreamId id) {
  auto it = streams_.find(id);
  if (it == streams_.end() || it->second->released) return;
  detail::Stream& s = *it->second;
  // Unread bytes still count against the connection window: give them back.
  if (!s.rx.empty()) nghttp2_session_consume(session_, id, s.rx.size());
  s.rx.clear();
  if (s.closed) {
    streams_.erase(it);
    return;
  }
  // nghttp2 may still hold a DATA frame pointing into `tx`; the stream is erased when
  // nghttp2 closes it after our RST_STREAM.
  s.released = true;
  submit_rst(id, NGHTTP2_CANCEL);
}

}  // namespace mesh::tunnel::http
