#pragma once
// The vocabulary of the HTTP/2 engine: stream ids, the events an H2Connection reports to its
// caller, and the reasons a connection or a stream is refused (each one a metric label via
// to_string()). Profiles over the engine (tunnel/hbone) extend StreamReject with reasons of
// their own, numbered after kStreamRejectCount. Plain values.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace mesh::tunnel::http {

using StreamId = int32_t;

enum class EventKind : uint8_t {
  Request,         // server: a request head arrived on `stream` (request(id)); answer with respond()
  StreamRejected,  // server: a request was answered or refused without the caller; `code` is a StreamReject
  Response,        // client: the final response head arrived; `code` is its status
  Data,            // `stream`'s receive buffer went from empty to non-empty
  PeerEnd,         // the peer half-closed `stream` (END_STREAM); no more data after what is
                   // buffered; trailers, if any, are readable from now on
  Closed,          // `stream` is closed; `code` is the HTTP/2 error code (0 = clean). release() it.
  Writable,        // `stream`'s send buffer fell below the low-water mark: resume the source
  PingAck,         // the peer answered ping()
  GoAway,          // the peer sent GOAWAY; `stream` = last stream id it will process, `code` = error
};

struct Event {
  EventKind kind;
  StreamId stream = 0;
  uint32_t code = 0;
};

// Why a connection was torn down. Every value is counted by the daemon.
enum class ConnectionFailure : uint8_t {
  None,
  BadPreface,          // server: the client magic or the first SETTINGS is missing or wrong
  ProtocolError,       // malformed frames, illegal state transitions, bad SETTINGS values
  FlowControl,         // the peer overran a flow-control window
  FrameSize,           // a frame larger than our SETTINGS_MAX_FRAME_SIZE or malformed length
  HeaderCompression,   // HPACK decoding failed
  TooManyStreams,      // the peer exceeded SETTINGS_MAX_CONCURRENT_STREAMS
  FloodSettings,       // SETTINGS frames faster than the limit
  FloodPing,           // PING frames faster than the limit
  FloodIgnoredFrames,  // PRIORITY or unknown-type frames faster than the limit
  FloodEmptyData,      // empty DATA frames without END_STREAM faster than the limit
  FloodResets,         // RST_STREAM frames faster than the limit ("rapid reset")
  FloodRefusedStreams, // streams we had to refuse faster than the limit
  FloodContinuation,   // too many CONTINUATION frames for one header block
  FloodOutboundQueue,  // the peer makes us queue acks it never reads
  PeerGoAwayError,     // the peer closed the connection with an error code
  Internal,
};
inline constexpr size_t kConnectionFailureCount = static_cast<size_t>(ConnectionFailure::Internal) + 1;

// Why the engine refused a request itself (EventKind::StreamRejected).
enum class StreamReject : uint8_t {
  HeaderListTooLarge,   // request headers over the limit: RST_STREAM
  Malformed,            // HTTP/2 messaging rules broken (nghttp2): RST_STREAM PROTOCOL_ERROR
  Refused,              // over the stream limit or while draining: RST_STREAM REFUSED_STREAM
};
inline constexpr size_t kStreamRejectCount = static_cast<size_t>(StreamReject::Refused) + 1;

std::string_view to_string(ConnectionFailure f);
std::string_view to_string(StreamReject r);
std::string_view to_string(EventKind k);

}  // namespace mesh::tunnel::http
