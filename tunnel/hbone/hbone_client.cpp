#include "tunnel/hbone/hbone_client.hpp"

#include <nghttp2/nghttp2.h>

#include <charconv>

#include <fmt/format.h>

namespace mesh::tunnel::hbone {

using base::Errc;
using base::fail;

base::Result<std::unique_ptr<HboneClient>> HboneClient::create(ByteSink& sink, const base::Clock& clock,
                                                               const H2Options& options) {
  std::unique_ptr<HboneClient> c(new HboneClient(sink, clock, options, false));
  if (auto st = c->start(); !st) return fail(st.error());
  return c;
}

size_t HboneClient::available_streams() const {
  if (failure() != ConnectionFailure::None || going_away()) return 0;
  if (nghttp2_session_get_next_stream_id(session_) > INT32_MAX) return 0;  // ids exhausted
  uint32_t peer_limit = nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  size_t limit = std::min<size_t>(options_.max_concurrent_streams, peer_limit);
  return limit > open_streams_ ? limit - open_streams_ : 0;
}

base::Result<StreamId> HboneClient::open(const ConnectRequest& request) {
  if (failure() != ConnectionFailure::None || going_away()) {
    return fail(Errc::Closed, "HBONE connection is failed or going away");
  }
  if (available_streams() == 0) return fail(Errc::Limit, "HBONE connection has no stream available");
  std::vector<Header> headers = {{":method", "CONNECT"}, {":authority", request.authority}};
  if (!request.traceparent.empty()) headers.push_back({"traceparent", request.traceparent});
  if (!request.baggage.empty()) headers.push_back({"baggage", request.baggage});
  if (!request.forwarded.empty()) headers.push_back({"forwarded", request.forwarded});
  for (const Header& h : request.other) headers.push_back(h);
  if (auto st = check_headers(headers); !st) return fail(st.error());
  return submit_request(headers, std::make_unique<detail::Stream>(0));
}

int HboneClient::status(StreamId id) const {
  const detail::Stream* s = find(id);
  return s && s->responded ? s->status : 0;
}

const std::vector<Header>* HboneClient::response_headers(StreamId id) const {
  const detail::Stream* s = find(id);
  return s && s->responded ? &s->response_headers : nullptr;
}

void HboneClient::on_header(detail::Stream& s, std::string_view name, std::string_view value) {
  if (s.responded) return;  // trailers carry nothing we use
  if (name == ":status") {
    int v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    s.status = ec == std::errc{} && end == value.data() + value.size() ? v : 0;
  } else if (!name.starts_with(':')) {
    s.response_headers.push_back({std::string(name), std::string(value)});
  }
}

void HboneClient::on_headers_done(detail::Stream& s, bool /*end_stream*/) {
  if (s.responded) return;
  if (s.status >= 100 && s.status < 200) {  // informational: wait for the final response
    s.status = 0;
    s.response_headers.clear();
    return;
  }
  s.responded = true;
  if (s.status >= 200 && s.status < 300) {
    s.open = true;
    resume(s);
  }
  push({EventKind::Response, s.id, static_cast<uint32_t>(s.status)});
}

}  // namespace mesh::tunnel::hbone
