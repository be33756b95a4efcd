#pragma once
// H2Connection: one HTTP/2 connection carrying HBONE CONNECT streams, as a sans-I/O object
// over nghttp2. The caller owns the transport (normally a TlsSession, through a ByteSink):
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
//   write/close_write/reset/release   the sending side of a stream, half-close, RST_STREAM.
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
#include "tunnel/hbone/byte_sink.hpp"
#include "tunnel/hbone/h2_stream.hpp"
#include "tunnel/hbone/hbone_options.hpp"
#include "tunnel/hbone/hbone_types.hpp"
#include "tunnel/hbone/token_bucket.hpp"

struct nghttp2_session;

namespace mesh::tunnel::hbone {

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
  void reset(StreamId id, uint32_t h2_error_code);
  void release(StreamId id);

 protected:
  H2Connection(ByteSink& sink, const base::Clock& clock, const H2Options& options, bool server);
  base::Status start();  // creates the nghttp2 session and queues our SETTINGS
  virtual void on_header(detail::Stream& s, std::string_view name, std::string_view value) = 0;
  virtual void on_headers_done(detail::Stream& s, bool end_stream) = 0;

  detail::Stream* find(StreamId id) const;
  detail::Stream& add_stream(StreamId id);
  void push(Event ev);
  void set_failure(ConnectionFailure f, std::string detail);
  void submit_rst(StreamId id, uint32_t code);
  void resume(detail::Stream& s);
  // Header names and values as nghttp2 accepts them (pseudo-headers start with ':').
  static base::Status check_headers(const std::vector<Header>& headers);
  // Client: a request whose DATA comes from the stream's send buffer once it is open.
  base::Result<StreamId> submit_request(const std::vector<Header>& headers, std::unique_ptr<detail::Stream> stream);
  // Server: a response; `open` attaches the stream's send buffer (200), otherwise END_STREAM.
  base::Status submit_response(detail::Stream& s, const std::vector<Header>& headers, bool open);

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

}  // namespace mesh::tunnel::hbone
