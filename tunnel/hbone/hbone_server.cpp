#include "tunnel/hbone/hbone_server.hpp"

#include <nghttp2/nghttp2.h>

#include <fmt/format.h>

#include "tunnel/hbone/authority.hpp"

namespace mesh::tunnel::hbone {

using base::Errc;
using base::fail;

base::Result<std::unique_ptr<HboneServer>> HboneServer::create(ByteSink& sink, const base::Clock& clock,
                                                               const H2Options& options) {
  std::unique_ptr<HboneServer> s(new HboneServer(sink, clock, options, true));
  if (auto st = s->start(); !st) return fail(st.error());
  return s;
}

const ConnectRequest* HboneServer::request(StreamId id) const {
  const detail::Stream* s = find(id);
  return s && s->exposed ? &s->request : nullptr;
}

void HboneServer::on_header(detail::Stream& s, std::string_view name, std::string_view value) {
  ConnectRequest& r = s.request;
  if (name == ":method") {
    s.method = value;
  } else if (name == ":authority") {
    r.authority = value;
  } else if (name.starts_with(':')) {
    // :scheme, :path, :protocol: nghttp2 already refuses them on a plain CONNECT.
  } else if (name == "traceparent") {
    r.traceparent = value;
  } else if (name == "baggage") {
    r.baggage = value;
  } else if (name == "forwarded") {
    r.forwarded = value;
  } else {
    r.other.push_back({std::string(name), std::string(value)});
  }
}

void HboneServer::reject(detail::Stream& s, StreamReject why) {
  s.responded = true;
  // nghttp2 resets an unfinished request with NO_ERROR once the response is out (RFC 9113 §8.1).
  (void)submit_response(s, {{":status", "400"}}, false);
  push({EventKind::StreamRejected, s.id, static_cast<uint32_t>(why)});
}

void HboneServer::on_headers_done(detail::Stream& s, bool /*end_stream*/) {
  if (s.exposed || s.responded) return;  // trailers
  if (s.method != "CONNECT") return reject(s, StreamReject::NotConnect);
  auto authority = parse_authority(s.request.authority);
  if (!authority) return reject(s, StreamReject::BadAuthority);
  s.request.target = authority->addr;
  s.exposed = true;
  push({EventKind::Request, s.id, 0});
}

base::Status HboneServer::respond(StreamId id, int status, const std::vector<Header>& headers) {
  detail::Stream* s = find(id);
  if (s == nullptr || !s->exposed) return fail(Errc::NotFound, fmt::format("no HBONE stream {}", id));
  if (s->responded) return fail(Errc::Invalid, fmt::format("HBONE stream {} already answered", id));
  if (status < 200 || status > 599) return fail(Errc::Invalid, fmt::format("bad response status {}", status));
  if (s->closed) return fail(Errc::Closed, fmt::format("HBONE stream {} is closed", id));
  std::vector<Header> all = {{":status", std::to_string(status)}};
  all.insert(all.end(), headers.begin(), headers.end());
  if (auto st = check_headers(all); !st) return st;
  bool open = status >= 200 && status < 300;
  if (auto st = submit_response(*s, all, open); !st) return st;
  s->responded = true;
  // nghttp2 resets an unfinished request with NO_ERROR once the response is out (RFC 9113 §8.1).
  return base::ok();
}

}  // namespace mesh::tunnel::hbone
