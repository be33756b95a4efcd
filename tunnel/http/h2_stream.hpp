#pragma once
// Internal: the per-stream state an H2Connection keeps between the caller and nghttp2.
// Received DATA waits in `rx` until the caller consumes it (only then is the window
// reopened); bytes to send wait in `tx` until nghttp2's flow control lets them out.
// Profiles that keep more per stream (HBONE's parsed CONNECT request) derive from Stream
// and create theirs through H2Connection::new_stream().
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/base/byte_queue.hpp"
#include "tunnel/http/h2_types.hpp"
#include "tunnel/http/message.hpp"

namespace mesh::tunnel::http::detail {

// Receive blocks are filled by nghttp2 in DATA-chunk sizes; send blocks are larger so that a
// DATA frame's payload is mostly contiguous and TlsSession can seal whole 16 KiB records
// straight from it instead of copying them into its staging record first.
inline constexpr size_t kRxBlock = 16 * 1024;
inline constexpr size_t kTxBlock = 64 * 1024;

struct Stream {
  explicit Stream(StreamId stream_id) : id(stream_id) {}
  virtual ~Stream() = default;

  StreamId id;
  base::ByteQueue rx{kRxBlock};
  base::ByteQueue tx{kTxBlock};
  bool open = false;          // DATA may flow from tx (client: at once, or after a 2xx for
                              // CONNECT; server: once a response with a body was submitted)
  bool data_deferred = false; // nghttp2 is waiting for resume_data
  bool end_requested = false; // close_write(): END_STREAM (or trailers) once tx drains
  bool end_sent = false;
  bool peer_ended = false;    // END_STREAM received
  bool closed = false;        // nghttp2 closed the stream
  bool tx_paused = false;     // write() returned false; raise Writable when drained
  bool exposed = false;       // the caller knows this stream (Request event / open())
  bool released = false;      // the caller is done; erased when nghttp2 closes it
  uint32_t close_code = 0;
  size_t header_bytes = 0;
  bool header_overflow = false;
  bool head_done = false;     // the request (server) or final response (client) head is complete
  bool responded = false;     // a final response was sent (server) or received (client)
  RequestHead request;        // server: as received
  ResponseHead response;      // client: as received
  HeaderMap trailers;         // as received (after head_done)
  std::optional<HeaderMap> send_trailers;  // close_write(id, trailers): sent after the last DATA
};

}  // namespace mesh::tunnel::http::detail
