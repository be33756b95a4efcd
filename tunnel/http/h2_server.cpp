#include "tunnel/http/h2_server.hpp"

#include <fmt/format.h>

namespace mesh::tunnel::http {

using base::Errc;
using base::fail;

base::Result<std::unique_ptr<H2Server>> H2Server::create(ByteSink& sink, const base::Clock& clock,
                                                         const H2Options& options) {
  std::unique_ptr<H2Server> s(new H2Server(sink, clock, options, true));
  if (auto st = s->start(); !st) return fail(st.error());
  return s;
}

const RequestHead* H2Server::request(StreamId id) const {
  const detail::Stream* s = find(id);
  return s && s->exposed ? &s->request : nullptr;
}

void H2Server::on_header(detail::Stream& s, std::string_view name, std::string_view value) {
  if (s.head_done) {
    if (!name.starts_with(':')) s.trailers.add(name, value);
    return;
  }
  RequestHead& r = s.request;
  if (!name.starts_with(':')) {
    r.headers.add(Header{std::string(name), std::string(value)});
  } else if (name == ":method") {
    r.method = value;
  } else if (name == ":scheme") {
    r.scheme = value;
  } else if (name == ":authority") {
    r.authority = value;
  } else if (name == ":path") {
    r.path = value;
  }
  // :protocol (RFC 8441) needs SETTINGS_ENABLE_CONNECT_PROTOCOL, which we never send, so
  // nghttp2 refuses it before it gets here.
}

bool H2Server::admit(detail::Stream&) { return true; }

void H2Server::reject(detail::Stream& s, int status, uint32_t reason) {
  s.responded = true;
  // nghttp2 resets an unfinished request with NO_ERROR once the response is out (RFC 9113 §8.1).
  (void)submit_response(s, ResponseHead{.status = status}, true);
  push({EventKind::StreamRejected, s.id, reason});
}

void H2Server::on_headers_done(detail::Stream& s, bool /*end_stream*/) {
  if (s.head_done || s.responded) return;  // trailers (kept by on_header) or a rejected stream
  s.head_done = true;
  s.header_bytes = 0;  // trailers are a header block of their own (SETTINGS_MAX_HEADER_LIST_SIZE)
  RequestHead& r = s.request;
  // RFC 9113 §8.3.1: a client may send Host instead of :authority.
  if (r.authority.empty()) {
    if (const std::string* host = r.headers.get("host")) r.authority = *host;
  }
  if (!admit(s)) return;
  s.exposed = true;
  push({EventKind::Request, s.id, 0});
}

base::Status H2Server::respond(StreamId id, const ResponseHead& head, bool end_stream) {
  detail::Stream* s = find(id);
  if (s == nullptr || !s->exposed) return fail(Errc::NotFound, fmt::format("no HTTP/2 stream {}", id));
  if (s->responded) return fail(Errc::Invalid, fmt::format("HTTP/2 stream {} already answered", id));
  if (head.status < 200 || head.status > 599) return fail(Errc::Invalid, fmt::format("bad response status {}", head.status));
  if (s->closed) return fail(Errc::Closed, fmt::format("HTTP/2 stream {} is closed", id));
  if (auto st = submit_response(*s, head, end_stream); !st) return st;
  s->responded = true;
  return base::ok();
}

}  // namespace mesh::tunnel::http
