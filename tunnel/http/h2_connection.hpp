#pragma once
// H2Connection: one HTTP/2 connection as a sans-I/O object over nghttp2, the engine under
// H2Server and H2Client (and, through them, HBONE's CONNECT profile in tunnel/hbone). The
// caller owns the transport (normally a TlsSession, through a ByteSink):
//
//   receive(plaintext)  feeds decrypted bytes; nghttp2 parses them at once (nothing is kept
//                       from the caller's buffer). Produces events.
//   flush()             serialises pending frames into the sink: DATA payloads go from the
//                       stream's send buffer into the sink without an nghttp2 copy
//                       (NGHTTP2_DATA_FLAG_NO_COPY). Stops once the sink holds
//                       H2Options::output_budget bytes; wants_write() then stays true.
//   next_event(ev)      drains what happened: requests, responses, data, ends, closes.
//   peek/gather + consume   read a stream's received bytes in place. consume() is what
//                       reopens flow-control windows (WINDOW_UPDATE), so an application
//                       that cannot keep up holds at most one stream window (4 MiB) per
//                       stream and one connection window (16 MiB) in all.
//   write/close_write/reset/release   the sending side of a stream, half-close (optionally
//                       with trailers), RST_STREAM.
//   trailers(id)        the trailers the peer sent, once PeerEnd was reported.
//
// Bytes returned by peek()/gather() stay at their address until consume() or release(), so
// they may sit in an in-flight send. A stream exists from open()/the Request event until the
// caller calls release(); release() of a stream that is still open resets it (CANCEL).
// Floods (SETTINGS, PING, PRIORITY, empty DATA, RST_STREAM, refused streams, CONTINUATION,
// unread ACKs) close this connection with a ConnectionFailure; nothing is shared with other
// connections. Single-threaded; not movable (nghttp2 holds its address), hence create()
// returns a unique_ptr.
#include <sys/uio.h>

#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "daemon/base/clock.hpp"
#include "daemon/base/result.hpp"
#include "tunnel/http/byte_sink.hpp"
#include "tunnel/http/h2_options.hpp"
#include "tunnel/http/h2_stream.hpp"
#include "tunnel/http/h2_types.hpp"
#include "tunnel/http/message.hpp"
#include "tunnel/http/token_bucket.hpp"

struct nghttp2_session;

namespace mesh::tunnel::http {

class H2Connection {
 public:
  virtual ~H2Connection();
  H2Connection(const H2Connection&) = delete;
  H2Connection& operator=(const H2Connection&) = delete;

  // --- connection ---
  // Parses plaintext from the peer. On failure the connection is finished (see failure());
  // flush() once more to send the GOAWAY, then close the transport.
  base::Status receive(std::span<const uint8_t> plaintext);
  void flush();
  bool wants_write() const;
  // Nothing left to read or write (GOAWAY exchanged and no streams, or failed): close.
  bool done() const;
  bool next_event(Event& out);
  void ping();
  // Graceful drain: GOAWAY(NO_ERROR); open streams finish, new ones are refused.
  void drain();
  ConnectionFailure failure() const { return failure_; }
  const std::string& failure_detail() const { return failure_detail_; }
  bool going_away() const { return goaway_received_ || goaway_sent_; }
  size_t open_streams() const { return open_streams_; }

  // --- streams ---
  size_t readable(StreamId id) const;
  std::span<const uint8_t> peek(StreamId id) const;
  size_t gather(StreamId id, std::span<iovec> out) const;
  void consume(StreamId id, size_t n);
  bool peer_ended(StreamId id) const;  // END_STREAM received (data may still be buffered)
  // Queues bytes; returns false when the stream buffers more than stream_send_buffer: stop
  // reading the source until a Writable event.
  bool write(StreamId id, std::span<const uint8_t> bytes);
  size_t send_buffered(StreamId id) const;
  void close_write(StreamId id);
  // Ends the stream with a trailer block (a HEADERS frame with END_STREAM) after the queued
  // bytes, as gRPC ends every response. Fails (and leaves the stream open) for a stream
  // already closed for writing or a field nghttp2 would refuse (upper case, pseudo-header).
  base::Status close_write(StreamId id, HeaderMap trailers);
  // The trailers received on `id`: nullptr before PeerEnd or when the peer sent none.
  const HeaderMap* trailers(StreamId id) const;
  void reset(StreamId id, uint32_t h2_error_code);
  void release(StreamId id);

 protected:
  H2Connection(ByteSink& sink, const base::Clock& clock, const H2Options& options, bool server);
  base::Status start();  // creates the nghttp2 session and queues our SETTINGS
  // One field of a header block (pseudo-headers included), then the end of the block.
  virtual void on_header(detail::Stream& s, std::string_view name, std::string_view value) = 0;
  virtual void on_headers_done(detail::Stream& s, bool end_stream) = 0;
  // Server: the state of a stream the peer opens. A profile derives from detail::Stream to
  // keep more per stream.
  virtual std::unique_ptr<detail::Stream> new_stream(StreamId id);

  detail::Stream* find(StreamId id) const;
  detail::Stream& add_stream(StreamId id);
  void push(Event ev);
  void set_failure(ConnectionFailure f, std::string detail);
  void submit_rst(StreamId id, uint32_t code);
  void resume(detail::Stream& s);
  // Client: a request; its DATA comes from the stream's send buffer once `stream->open` is
  // set, or none with `end_stream` (END_STREAM on the HEADERS).
  base::Result<StreamId> submit_request(const RequestHead& head, std::unique_ptr<detail::Stream> stream,
                                        bool end_stream);
  // Server: a response; without `end_stream` it attaches the stream's send buffer (a body
  // and/or trailers follow), with it the HEADERS carry END_STREAM.
  base::Status submit_response(detail::Stream& s, const ResponseHead& head, bool end_stream);

  nghttp2_session* session_ = nullptr;
  const H2Options options_;
  const bool server_;
  size_t open_streams_ = 0;
  bool goaway_received_ = false;
  bool goaway_sent_ = false;

 private:
  struct Callbacks;
  friend struct Callbacks;
  bool take(TokenBucket& bucket, ConnectionFailure f, const char* what);
  void connection_error_sent(uint32_t h2_code);

  ByteSink& sink_;
  const base::Clock& clock_;
  std::unordered_map<StreamId, std::unique_ptr<detail::Stream>> streams_;
  std::vector<Event> events_;
  size_t next_event_ = 0;
  ConnectionFailure failure_ = ConnectionFailure::None;
  std::string failure_detail_;
  int last_lib_error_ = 0;         // nghttp2's reason for the last invalid frame
  bool too_many_streams_ = false;  // the invalid frame was a HEADERS over the stream limit
  TokenBucket settings_bucket_, ping_bucket_, ignored_bucket_, empty_data_bucket_, reset_bucket_,
      refused_bucket_;
};

}  // namespace mesh::tunnel::http
