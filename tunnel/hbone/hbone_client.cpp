#include "tunnel/hbone/hbone_client.hpp"

namespace mesh::tunnel::hbone {

using base::fail;

base::Result<std::unique_ptr<HboneClient>> HboneClient::create(http::ByteSink& sink, const base::Clock& clock,
                                                               const http::H2Options& options) {
  std::unique_ptr<HboneClient> c(new HboneClient(sink, clock, options, false));
  if (auto st = c->start(); !st) return fail(st.error());
  return c;
}

base::Result<http::StreamId> HboneClient::open(const ConnectRequest& request) {
  http::RequestHead head{.method = "CONNECT", .authority = request.authority};
  if (!request.traceparent.empty()) head.headers.add("traceparent", request.traceparent);
  if (!request.baggage.empty()) head.headers.add("baggage", request.baggage);
  if (!request.forwarded.empty()) head.headers.add("forwarded", request.forwarded);
  for (const http::Header& h : request.other) head.headers.add(h);
  // The tunnel opens with the 200: bytes written before it wait.
  return open_stream(head, false, true);
}

int HboneClient::status(http::StreamId id) const {
  const http::ResponseHead* r = response(id);
  return r ? r->status : 0;
}

const http::HeaderMap* HboneClient::response_headers(http::StreamId id) const {
  const http::ResponseHead* r = response(id);
  return r ? &r->headers : nullptr;
}

}  // namespace mesh::tunnel::hbone
