#pragma once
// The vocabulary of the HBONE profile: the CONNECT request as HboneClient sends it and
// HboneServer receives it, and the reasons a CONNECT stream is refused (the HTTP/2 engine's
// StreamReject values, then HBONE's own; each one a metric label via to_string()). The
// engine's types (StreamId, Event, ConnectionFailure, Header) are tunnel/http's. Plain values.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/base/socket_addr.hpp"
#include "tunnel/http/h2_types.hpp"
#include "tunnel/http/message.hpp"

namespace mesh::tunnel::hbone {

// A CONNECT request as sent by HboneClient::open() and as received by HboneServer.
struct ConnectRequest {
  std::string authority;                // "10.0.0.7:8080", "[fd00::7]:80" or "host.ns:80"
  std::optional<base::SocketAddr> target;  // the authority when it is ip:port (server side)
  std::string traceparent;              // optional; "" when absent
  std::string baggage;                  // optional
  std::string forwarded;                // optional
  std::vector<http::Header> other;      // any further headers (lower-case names)
};

// Why the server answered a request itself (http::EventKind::StreamRejected). The first
// values are the engine's (http::StreamReject), the rest are HBONE's.
enum class StreamReject : uint8_t {
  HeaderListTooLarge,   // request headers over the limit: RST_STREAM
  Malformed,            // HTTP/2 messaging rules broken (nghttp2): RST_STREAM PROTOCOL_ERROR
  Refused,              // over the stream limit or while draining: RST_STREAM REFUSED_STREAM
  NotConnect,           // method is not CONNECT: 400
  BadAuthority,         // :authority missing or not ip:port / host:port: 400
};
inline constexpr size_t kStreamRejectCount = static_cast<size_t>(StreamReject::BadAuthority) + 1;
static_assert(static_cast<size_t>(StreamReject::NotConnect) == http::kStreamRejectCount);
static_assert(static_cast<uint8_t>(StreamReject::HeaderListTooLarge) ==
              static_cast<uint8_t>(http::StreamReject::HeaderListTooLarge));
static_assert(static_cast<uint8_t>(StreamReject::Malformed) == static_cast<uint8_t>(http::StreamReject::Malformed));
static_assert(static_cast<uint8_t>(StreamReject::Refused) == static_cast<uint8_t>(http::StreamReject::Refused));

std::string_view to_string(StreamReject r);

}  // namespace mesh::tunnel::hbone
