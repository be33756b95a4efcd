#include "tunnel/hbone/hbone_server.hpp"

#include "tunnel/hbone/authority.hpp"

namespace mesh::tunnel::hbone {

using base::fail;

namespace {

// An HBONE stream keeps its CONNECT request, parsed once when the head is complete.
struct ConnectStream final : http::detail::Stream {
  using Stream::Stream;
  ConnectRequest connect;
};

}  // namespace

base::Result<std::unique_ptr<HboneServer>> HboneServer::create(http::ByteSink& sink, const base::Clock& clock,
                                                               const http::H2Options& options) {
  std::unique_ptr<HboneServer> s(new HboneServer(sink, clock, options, true));
  if (auto st = s->start(); !st) return fail(st.error());
  return s;
}

std::unique_ptr<http::detail::Stream> HboneServer::new_stream(http::StreamId id) {
  return std::make_unique<ConnectStream>(id);
}

const ConnectRequest* HboneServer::request(http::StreamId id) const {
  if (H2Server::request(id) == nullptr) return nullptr;
  return &static_cast<const ConnectStream*>(find(id))->connect;
}

bool HboneServer::admit(http::detail::Stream& s) {
  const http::RequestHead& head = s.request;
  // :scheme, :path, :protocol: nghttp2 already refuses them on a plain CONNECT.
  if (head.method != "CONNECT") {
    reject(s, 400, static_cast<uint32_t>(StreamReject::NotConnect));
    return false;
  }
  auto authority = parse_authority(head.authority);
  if (!authority) {
    reject(s, 400, static_cast<uint32_t>(StreamReject::BadAuthority));
    return false;
  }
  ConnectRequest& r = static_cast<ConnectStream&>(s).connect;
  r.authority = head.authority;
  r.target = authority->addr;
  for (const http::Header& h : head.headers) {
    if (h.name == "traceparent") {
      r.traceparent = h.value;
    } else if (h.name == "baggage") {
      r.baggage = h.value;
    } else if (h.name == "forwarded") {
      r.forwarded = h.value;
    } else {
      r.other.push_back(h);
    }
  }
  return true;
}

base::Status HboneServer::respond(http::StreamId id, int status, const std::vector<http::Header>& headers) {
  http::ResponseHead head{.status = status};
  for (const http::Header& h : headers) head.headers.add(h);
  // A 2xx opens the tunnel; anything else ends the stream, and nghttp2 resets an unfinished
  // request with NO_ERROR once the response is out (RFC 9113 §8.1).
  return H2Server::respond(id, head, status < 200 || status >= 300);
}

}  // namespace mesh::tunnel::hbone
