// H2Connection's nghttp2 callbacks and session start-up. Every callback receives the
// H2Connection as user_data and finds the stream through nghttp2's stream user data (never a
// pointer nghttp2 might keep after release()).
#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "daemon/base/check.hpp"
#include "tunnel/http/h2_connection.hpp"

namespace mesh::tunnel::http {

using base::Errc;
using base::fail;

namespace {

// A header block as nghttp2 takes it: views into the heads being submitted.
using Fields = std::vector<std::pair<std::string_view, std::string_view>>;

void append(Fields& f, const HeaderMap& headers) {
  for (const Header& h : headers) f.emplace_back(h.name, h.value);
}

Fields fields(const HeaderMap& headers) {
  Fields f;
  append(f, headers);
  return f;
}

// Names and values as nghttp2 accepts them: the first `pseudo` fields are pseudo-headers
// (start with ':'), the rest (HeaderMap entries) may not be.
base::Status check(const Fields& f, size_t pseudo) {
  for (size_t i = 0; i < f.size(); ++i) {
    auto [full, value] = f[i];
    bool is_pseudo = full.starts_with(':');
    std::string_view name = is_pseudo ? full.substr(1) : full;
    if (name.empty() || is_pseudo != (i < pseudo) ||
        !nghttp2_check_header_name(reinterpret_cast<const uint8_t*>(name.data()), name.size()) ||
        !nghttp2_check_header_value(reinterpret_cast<const uint8_t*>(value.data()), value.size())) {
      return fail(Errc::Invalid, fmt::format("invalid header '{}'", full));
    }
  }
  return base::ok();
}

std::vector<nghttp2_nv> to_nv(const Fields& f) {
  std::vector<nghttp2_nv> nv;
  nv.reserve(f.size());
  for (const auto& [name, value] : f) {
    nv.push_back({const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(name.data())),
                  const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(value.data())), name.size(), value.size(),
                  NGHTTP2_NV_FLAG_NONE});
  }
  return nv;
}

}  // namespace

struct H2Connection::Callbacks {
  static H2Connection& self(void* user_data) { return *static_cast<H2Connection*>(user_data); }
  static detail::Stream* stream(nghttp2_session* session, int32_t id) {
    return static_cast<detail::Stream*>(nghttp2_session_get_stream_user_data(session, id));
  }
  static bool over_budget(H2Connection& c) { return c.sink_.buffered() >= c.options_.output_budget; }

  static ssize_t send(nghttp2_session*, const uint8_t* data, size_t len, int, void* ud) {
    H2Connection& c = self(ud);
    if (over_budget(c)) return NGHTTP2_ERR_WOULDBLOCK;
    c.sink_.write({data, len});
    return static_cast<ssize_t>(len);
  }

  // DATA without a copy: the 9-byte header, then the payload straight from the stream's
  // send buffer into the sink (the TLS session seals it into records).
  static int send_data(nghttp2_session* session, nghttp2_frame* frame, const uint8_t* framehd, size_t len,
                       nghttp2_data_source*, void* ud) {
    H2Connection& c = self(ud);
    detail::Stream* s = stream(session, frame->hd.stream_id);
    MESH_CHECK(s != nullptr && s->tx.size() >= len && frame->data.padlen == 0);
    if (over_budget(c)) return NGHTTP2_ERR_WOULDBLOCK;
    c.sink_.write({framehd, 9});
    std::array<iovec, 16> iov;
    for (size_t left = len; left > 0;) {
      size_t n = s->tx.gather(iov, left);
      size_t batch = 0;
      for (size_t i = 0; i < n; ++i) {
        c.sink_.write({static_cast<const uint8_t*>(iov[i].iov_base), iov[i].iov_len});
        batch += iov[i].iov_len;
      }
      s->tx.consume(batch);
      left -= batch;
    }
    if (s->tx_paused && s->tx.size() < c.options_.stream_send_buffer / 2) {
      s->tx_paused = false;
      if (!s->released) c.push({EventKind::Writable, s->id, 0});
    }
    return 0;
  }

  static ssize_t read_data(nghttp2_session* session, int32_t id, uint8_t*, size_t len, uint32_t* flags,
                           nghttp2_data_source*, void*) {
    detail::Stream* s = stream(session, id);
    if (s == nullptr || s->released || !s->open) {
      if (s) s->data_deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    size_t avail = s->tx.size();
    if (avail == 0 && !s->end_requested) {
      s->data_deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    size_t n = std::min(avail, len);
    if (n > 0) *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (n == avail && s->end_requested) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      // Trailers end the stream instead of this DATA frame; nghttp2 allows submitting them
      // from inside this callback and sends them right after it.
      if (s->send_trailers) {
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        auto nv = to_nv(fields(*s->send_trailers));
        if (nghttp2_submit_trailer(session, id, nv.data(), nv.size()) != 0) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        s->send_trailers.reset();
      }
    }
    return static_cast<ssize_t>(n);
  }

  static ssize_t read_length(nghttp2_session*, uint8_t, int32_t, int32_t conn_window, int32_t stream_window,
                             uint32_t remote_max_frame, void* ud) {
    H2Connection& c = self(ud);
    int64_t n = std::min<int64_t>({static_cast<int64_t>(c.options_.max_data_frame), remote_max_frame,
                                   conn_window, stream_window});
    return static_cast<ssize_t>(std::max<int64_t>(n, 1));
  }

  static int begin_headers(nghttp2_session* session, const nghttp2_frame* frame, void* ud) {
    H2Connection& c = self(ud);
    if (c.server_ && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      detail::Stream& s = c.add_stream(frame->hd.stream_id);
      nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, &s);
    }
    return 0;
  }

  static int header(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                    const uint8_t* value, size_t valuelen, uint8_t, void* ud) {
    H2Connection& c = self(ud);
    detail::Stream* s = stream(session, frame->hd.stream_id);
    if (s == nullptr || s->released) return 0;
    // RFC 9113 §6.5.2: a field costs its name and value lengths plus 32.
    s->header_bytes += namelen + valuelen + 32;
    if (s->header_bytes > c.options_.max_header_list) {
      s->header_overflow = true;
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // RST_STREAM for this stream only
    }
    c.on_header(*s, {reinterpret_cast<const char*>(name), namelen},
                {reinterpret_cast<const char*>(value), valuelen});
    return 0;
  }

  // Frames nghttp2 drops without telling us (PRIORITY with RFC 7540 priorities off, unknown
  // extension types) are still work for us: count them at their header.
  static int begin_frame(nghttp2_session*, const nghttp2_frame_hd* hd, void* ud) {
    H2Connection& c = self(ud);
    bool ignored = hd->type == NGHTTP2_PRIORITY || hd->type > NGHTTP2_CONTINUATION;
    if (ignored && !c.take(c.ignored_bucket_, ConnectionFailure::FloodIgnoredFrames, "PRIORITY/unknown frame")) {
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    return 0;
  }

  // Extension frames are registered as "user" types only so that begin_frame sees them;
  // their payload is discarded.
  static int extension_chunk(nghttp2_session*, const nghttp2_frame_hd*, const uint8_t*, size_t, void*) { return 0; }
  static int unpack_extension(nghttp2_session*, void**, const nghttp2_frame_hd*, void*) { return NGHTTP2_ERR_CANCEL; }

  static int frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* ud) {
    H2Connection& c = self(ud);
    const nghttp2_frame_hd& hd = frame->hd;
    bool end_stream = (hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    switch (hd.type) {
      case NGHTTP2_DATA:
        if (hd.length == 0 && !end_stream &&
            !c.take(c.empty_data_bucket_, ConnectionFailure::FloodEmptyData, "empty DATA")) {
          return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        if (end_stream) peer_end(c, stream(session, hd.stream_id));
        return 0;
      case NGHTTP2_HEADERS:
        if (detail::Stream* s = stream(session, hd.stream_id); s != nullptr && !s->released) {
          c.on_headers_done(*s, end_stream);
          if (end_stream) peer_end(c, s);
        }
        return 0;
      case NGHTTP2_SETTINGS:
        if ((hd.flags & NGHTTP2_FLAG_ACK) == 0 && !c.take(c.settings_bucket_, ConnectionFailure::FloodSettings, "SETTINGS")) {
          return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
        return 0;
      case NGHTTP2_PING:
        if ((hd.flags & NGHTTP2_FLAG_ACK) != 0) {
          c.push({EventKind::PingAck, 0, 0});
          return 0;
        }
        return c.take(c.ping_bucket_, ConnectionFailure::FloodPing, "PING") ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
      case NGHTTP2_RST_STREAM:
        return c.take(c.reset_bucket_, ConnectionFailure::FloodResets, "RST_STREAM") ? 0 : NGHTTP2_ERR_CALLBACK_FAILURE;
      case NGHTTP2_GOAWAY:
        c.goaway_received_ = true;
        if (frame->goaway.error_code != NGHTTP2_NO_ERROR) {
          c.set_failure(ConnectionFailure::PeerGoAwayError,
                        fmt::format("peer sent GOAWAY {}", nghttp2_http2_strerror(frame->goaway.error_code)));
        }
        c.push({EventKind::GoAway, frame->goaway.last_stream_id, frame->goaway.error_code});
        return 0;
      default:
        return 0;
    }
  }

  static void peer_end(H2Connection& c, detail::Stream* s) {
    if (s == nullptr || s->released || s->peer_ended) return;
    s->peer_ended = true;
    if (s->exposed) c.push({EventKind::PeerEnd, s->id, 0});
  }

  static int data_chunk(nghttp2_session* session, uint8_t, int32_t id, const uint8_t* data, size_t len, void* ud) {
    H2Connection& c = self(ud);
    detail::Stream* s = stream(session, id);
    if (s == nullptr || s->released || !s->exposed) {
      nghttp2_session_consume(session, id, len);  // nobody will read it: reopen the window
      return 0;
    }
    bool was_empty = s->rx.empty();
    s->rx.append({data, len});
    if (was_empty && len > 0) c.push({EventKind::Data, id, 0});
    return 0;
  }

  static int stream_close(nghttp2_session* session, int32_t id, uint32_t code, void* ud) {
    H2Connection& c = self(ud);
    detail::Stream* s = stream(session, id);
    if (s == nullptr) return 0;
    nghttp2_session_set_stream_user_data(session, id, nullptr);
    --c.open_streams_;
    s->closed = true;
    s->close_code = code;
    if (s->exposed && !s->released) {
      c.push({EventKind::Closed, id, code});
    } else {
      if (c.server_ && !s->exposed && s->header_overflow) {
        c.push({EventKind::StreamRejected, id, static_cast<uint32_t>(StreamReject::HeaderListTooLarge)});
      }
      c.streams_.erase(id);
    }
    return 0;
  }

  static int invalid_frame(nghttp2_session*, const nghttp2_frame* frame, int lib_error, void* ud) {
    H2Connection& c = self(ud);
    c.last_lib_error_ = lib_error;
    if (frame->hd.type == NGHTTP2_HEADERS && c.server_ && c.open_streams_ >= c.options_.max_concurrent_streams) {
      c.too_many_streams_ = true;
    }
    return 0;
  }

  static int frame_send(nghttp2_session* session, const nghttp2_frame* frame, void* ud) {
    H2Connection& c = self(ud);
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      c.goaway_sent_ = true;
      if (frame->goaway.error_code != NGHTTP2_NO_ERROR) c.connection_error_sent(frame->goaway.error_code);
    } else if (frame->hd.type == NGHTTP2_HEADERS && c.server_ && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      // A refusal (non-2xx) ends our side; RFC 9113 §8.1 lets us stop the request with
      // NO_ERROR so the stream does not linger half-open. Sent only after the HEADERS: an
      // RST_STREAM queued earlier would cancel them.
      detail::Stream* s = stream(session, frame->hd.stream_id);
      if (s != nullptr && !s->peer_ended) c.submit_rst(frame->hd.stream_id, NGHTTP2_NO_ERROR);
    } else if (frame->hd.type == NGHTTP2_RST_STREAM && c.server_) {
      uint32_t code = frame->rst_stream.error_code;
      if (code == NGHTTP2_REFUSED_STREAM) {
        c.push({EventKind::StreamRejected, frame->hd.stream_id, static_cast<uint32_t>(StreamReject::Refused)});
        if (!c.take(c.refused_bucket_, ConnectionFailure::FloodRefusedStreams, "refused stream")) {
          nghttp2_session_terminate_session(c.session_, NGHTTP2_ENHANCE_YOUR_CALM);
        }
      } else if (code == NGHTTP2_PROTOCOL_ERROR) {
        c.push({EventKind::StreamRejected, frame->hd.stream_id, static_cast<uint32_t>(StreamReject::Malformed)});
      }
    }
    return 0;
  }
};

void H2Connection::connection_error_sent(uint32_t h2_code) {
  ConnectionFailure f = ConnectionFailure::ProtocolError;
  if (too_many_streams_) {
    f = ConnectionFailure::TooManyStreams;
  } else if (h2_code == NGHTTP2_FLOW_CONTROL_ERROR || last_lib_error_ == NGHTTP2_ERR_FLOW_CONTROL) {
    f = ConnectionFailure::FlowControl;
  } else if (h2_code == NGHTTP2_FRAME_SIZE_ERROR || last_lib_error_ == NGHTTP2_ERR_FRAME_SIZE_ERROR) {
    f = ConnectionFailure::FrameSize;
  } else if (h2_code == NGHTTP2_COMPRESSION_ERROR || last_lib_error_ == NGHTTP2_ERR_HEADER_COMP) {
    f = ConnectionFailure::HeaderCompression;
  } else if (last_lib_error_ == NGHTTP2_ERR_SETTINGS_EXPECTED) {
    f = ConnectionFailure::BadPreface;
  }
  set_failure(f, fmt::format("sent GOAWAY {} ({})", nghttp2_http2_strerror(h2_code),
                             last_lib_error_ ? nghttp2_strerror(last_lib_error_) : "-"));
}

base::Status H2Connection::start() {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_option* opt = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0 || nghttp2_option_new(&opt) != 0) {
    nghttp2_session_callbacks_del(cbs);
    return fail(Errc::Internal, "nghttp2: out of memory");
  }
  nghttp2_session_callbacks_set_send_callback(cbs, Callbacks::send);
  nghttp2_session_callbacks_set_send_data_callback(cbs, Callbacks::send_data);
  nghttp2_session_callbacks_set_data_source_read_length_callback(cbs, Callbacks::read_length);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, Callbacks::begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, Callbacks::header);
  nghttp2_session_callbacks_set_on_begin_frame_callback(cbs, Callbacks::begin_frame);
  nghttp2_session_callbacks_set_on_extension_chunk_recv_callback(cbs, Callbacks::extension_chunk);
  nghttp2_session_callbacks_set_unpack_extension_callback(cbs, Callbacks::unpack_extension);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, Callbacks::frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, Callbacks::data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, Callbacks::stream_close);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, Callbacks::invalid_frame);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, Callbacks::frame_send);

  const FloodLimits& fl = options_.flood;
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_no_closed_streams(opt, 1);
  for (unsigned type = NGHTTP2_CONTINUATION + 1; type <= 0xff; ++type) {
    nghttp2_option_set_user_recv_extension_type(opt, static_cast<uint8_t>(type));
  }
  nghttp2_option_set_max_outbound_ack(opt, fl.max_outbound_acks);
  nghttp2_option_set_max_continuations(opt, fl.max_continuations);
  // nghttp2's own rapid-reset limiter stays above ours, so ours (with its reason) fires first.
  nghttp2_option_set_stream_reset_rate_limit(opt, static_cast<uint64_t>(fl.resets.burst * 2),
                                             static_cast<uint64_t>(fl.resets.per_second * 2));
  if (!server_) nghttp2_option_set_peer_max_concurrent_streams(opt, options_.max_concurrent_streams);
  int rv = server_ ? nghttp2_session_server_new2(&session_, cbs, this, opt)
                   : nghttp2_session_client_new2(&session_, cbs, this, opt);
  nghttp2_session_callbacks_del(cbs);
  nghttp2_option_del(opt);
  if (rv != 0) return fail(Errc::Internal, fmt::format("nghttp2 session: {}", nghttp2_strerror(rv)));

  std::vector<nghttp2_settings_entry> iv = {
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, options_.stream_window},
      {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, options_.max_frame_size},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, options_.max_header_list},
      {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
  };
  if (server_) {
    iv.push_back({NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, options_.max_concurrent_streams});
  } else {
    iv.push_back({NGHTTP2_SETTINGS_ENABLE_PUSH, 0});
  }
  rv = nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, iv.data(), iv.size());
  if (rv == 0) {
    rv = nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                               static_cast<int32_t>(options_.connection_window));
  }
  if (rv != 0) return fail(Errc::Internal, fmt::format("nghttp2 settings: {}", nghttp2_strerror(rv)));
  return base::ok();
}

base::Result<StreamId> H2Connection::submit_request(const RequestHead& head, std::unique_ptr<detail::Stream> stream,
                                                    bool end_stream) {
  Fields f = {{":method", head.method}};
  if (!head.scheme.empty()) f.push_back({":scheme", head.scheme});
  if (!head.authority.empty()) f.push_back({":authority", head.authority});
  if (!head.path.empty()) f.push_back({":path", head.path});
  size_t pseudo = f.size();
  append(f, head.headers);
  if (auto st = check(f, pseudo); !st) return fail(st.error());
  auto nv = to_nv(f);
  nghttp2_data_provider provider{};
  provider.read_callback = Callbacks::read_data;
  int32_t id = nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(), end_stream ? nullptr : &provider,
                                      stream.get());
  if (id < 0) return fail(Errc::Invalid, fmt::format("submit {}: {}", head.method, nghttp2_strerror(id)));
  stream->id = id;
  stream->exposed = true;
  stream->end_requested = end_stream;
  streams_.emplace(id, std::move(stream));
  ++open_streams_;
  return id;
}

base::Status H2Connection::submit_response(detail::Stream& s, const ResponseHead& head, bool end_stream) {
  std::string status = std::to_string(head.status);
  Fields f = {{":status", status}};
  append(f, head.headers);
  if (auto st = check(f, 1); !st) return st;
  auto nv = to_nv(f);
  nghttp2_data_provider provider{};
  provider.read_callback = Callbacks::read_data;
  int rv = nghttp2_submit_response(session_, s.id, nv.data(), nv.size(), end_stream ? nullptr : &provider);
  if (rv != 0) return fail(Errc::Invalid, fmt::format("submit response: {}", nghttp2_strerror(rv)));
  s.open = !end_stream;
  if (end_stream) s.end_requested = true;
  return base::ok();
}

base::Status H2Connection::close_write(StreamId id, HeaderMap trailers) {
  detail::Stream* s = find(id);
  if (!s || s->end_requested) return fail(Errc::Closed, fmt::format("stream {} is not open for writing", id));
  if (auto st = check(fields(trailers), 0); !st) return st;
  if (!trailers.empty()) s->send_trailers = std::move(trailers);
  close_write(id);
  return base::ok();
}

}  // namespace mesh::tunnel::http
