#include "tunnel/http/h2_types.hpp"

namespace mesh::tunnel::http {

std::string_view to_string(ConnectionFailure f) {
  switch (f) {
    case ConnectionFailure::None: return "none";
    case ConnectionFailure::BadPreface: return "bad_preface";
    case ConnectionFailure::ProtocolError: return "protocol_error";
    case ConnectionFailure::FlowControl: return "flow_control";
    case ConnectionFailure::FrameSize: return "frame_size";
    case ConnectionFailure::HeaderCompression: return "header_compression";
    case ConnectionFailure::TooManyStreams: return "too_many_streams";
    case ConnectionFailure::FloodSettings: return "flood_settings";
    case ConnectionFailure::FloodPing: return "flood_ping";
    case ConnectionFailure::FloodIgnoredFrames: return "flood_ignored_frames";
    case ConnectionFailure::FloodEmptyData: return "flood_empty_data";
    case ConnectionFailure::FloodResets: return "flood_resets";
    case ConnectionFailure::FloodRefusedStreams: return "flood_refused_streams";
    case ConnectionFailure::FloodContinuation: return "flood_continuation";
    case ConnectionFailure::FloodOutboundQueue: return "flood_outbound_queue";
    case ConnectionFailure::PeerGoAwayError: return "peer_goaway_error";
    case ConnectionFailure::Internal: return "internal";
  }
  return "unknown";
}

std::string_view to_string(StreamReject r) {
  switch (r) {
    case StreamReject::HeaderListTooLarge: return "header_list_too_large";
    case StreamReject::Malformed: return "malformed";
    case StreamReject::Refused: return "refused";
  }
  return "unknown";
}

std::string_view to_string(EventKind k) {
  switch (k) {
    case EventKind::Request: return "request";
    case EventKind::StreamRejected: return "stream_rejected";
    case EventKind::Response: return "response";
    case EventKind::Data: return "data";
    case EventKind::PeerEnd: return "peer_end";
    case EventKind::Closed: return "closed";
    case EventKind::Writable: return "writable";
    case EventKind::PingAck: return "ping_ack";
    case EventKind::GoAway: return "goaway";
  }
  return "unknown";
}

}  // namespace mesh::tunnel::http
