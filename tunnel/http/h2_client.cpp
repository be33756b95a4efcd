#include "tunnel/http/h2_client.hpp"

#include <nghttp2/nghttp2.h>

#include <charconv>

#include <fmt/format.h>

namespace mesh::tunnel::http {

using base::Errc;
using base::fail;

base::Result<std::unique_ptr<H2Client>> H2Client::create(ByteSink& sink, const base::Clock& clock,
                                                         const H2Options& options) {
  std::unique_ptr<H2Client> c(new H2Client(sink, clock, options, false));
  if (auto st = c->start(); !st) return fail(st.error());
  return c;
}

size_t H2Client::available_streams() const {
  if (failure() != ConnectionFailure::None || going_away()) return 0;
  if (nghttp2_session_get_next_stream_id(session_) > INT32_MAX) return 0;  // ids exhausted
  uint32_t peer_limit = nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  size_t limit = std::min<size_t>(options_.max_concurrent_streams, peer_limit);
  return limit > open_streams_ ? limit - open_streams_ : 0;
}

base::Result<StreamId> H2Client::open(const RequestHead& head, bool end_stream) {
  return open_stream(head, end_stream, false);
}

base::Result<StreamId> H2Client::open_stream(const RequestHead& head, bool end_stream, bool hold_body) {
  if (failure() != ConnectionFailure::None || going_away()) {
    return fail(Errc::Closed, "HTTP/2 connection is failed or going away");
  }
  if (available_streams() == 0) return fail(Errc::Limit, "HTTP/2 connection has no stream available");
  auto stream = std::make_unique<detail::Stream>(0);
  stream->open = !hold_body;
  return submit_request(head, std::move(stream), end_stream);
}

const ResponseHead* H2Client::response(StreamId id) const {
  const detail::Stream* s = find(id);
  return s && s->responded ? &s->response : nullptr;
}

void H2Client::on_header(detail::Stream& s, std::string_view name, std::string_view value) {
  if (s.responded) {
    if (!name.starts_with(':')) s.trailers.add(name, value);
    return;
  }
  if (name == ":status") {
    int v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    s.response.status = ec == std::errc{} && end == value.data() + value.size() ? v : 0;
  } else if (!name.starts_with(':')) {
    s.response.headers.add(Header{std::string(name), std::string(value)});
  }
}

void H2Client::on_headers_done(detail::Stream& s, bool /*end_stream*/) {
  if (s.responded) return;  // trailers, kept by on_header
  if (s.response.status >= 100 && s.response.status < 200) {  // informational: wait for the final response
    s.response = {};
    return;
  }
  s.responded = true;
  s.head_done = true;
  s.header_bytes = 0;  // trailers are a header block of their own (SETTINGS_MAX_HEADER_LIST_SIZE)
  if (!s.open && s.response.status >= 200 && s.response.status < 300) {
    s.open = true;  // a held body (CONNECT) flows now
    resume(s);
  }
  push({EventKind::Response, s.id, static_cast<uint32_t>(s.response.status)});
}

}  // namespace mesh::tunnel::http
