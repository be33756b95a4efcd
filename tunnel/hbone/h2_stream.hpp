#pragma once
// Internal: the per-stream state an H2Connection keeps between the caller and nghttp2.
// Received DATA waits in `rx` until the caller consumes it (only then is the window
// reopened); bytes to send wait in `tx` until nghttp2's flow control lets them out.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tunnel/hbone/hbone_types.hpp"
#include "tunnel/tls/byte_queue.hpp"

namespace mesh::tunnel::hbone::detail {

// Receive blocks are filled by nghttp2 in DATA-chunk sizes; send blocks are larger so that a
// DATA frame's payload is mostly contiguous and TlsSession can seal whole 16 KiB records
// straight from it instead of copying them into its staging record first.
inline constexpr size_t kRxBlock = 16 * 1024;
inline constexpr size_t kTxBlock = 64 * 1024;

struct Stream {
  explicit Stream(StreamId stream_id) : id(stream_id) {}

  StreamId id;
  ByteQueue rx{kRxBlock};
  ByteQueue tx{kTxBlock};
  bool open = false;          // client: 2xx received; server: 200 sent. DATA may flow.
  bool data_deferred = false; // nghttp2 is waiting for resume_data
  bool end_requested = false; // close_write(): END_STREAM once tx drains
  bool end_sent = false;
  bool peer_ended = false;    // END_STREAM received
  bool closed = false;        // nghttp2 closed the stream
  bool tx_paused = false;     // write() returned false; raise Writable when drained
  bool exposed = false;       // the caller knows this stream (Request event / open())
  bool released = false;      // the caller is done; erased when nghttp2 closes it
  uint32_t close_code = 0;
  // Server: the request being received; client: the response status and headers.
  std::string method;
  size_t header_bytes = 0;
  bool header_overflow = false;
  ConnectRequest request;
  int status = 0;
  bool responded = false;     // a final response was sent (server) or received (client)
  std::vector<Header> response_headers;
};

}  // namespace mesh::tunnel::hbone::detail
