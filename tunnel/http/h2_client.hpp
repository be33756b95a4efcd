#pragma once
// H2Client: the client side of one HTTP/2 connection, for any method. open() sends a request
// head; without end_stream a body follows through write() and close_write() (optionally
// with trailers). The Response event carries the final status (1xx heads are skipped);
// response(id) gives the head, Data/PeerEnd the body, trailers(id) what followed it (gRPC's
// grpc-status). Up to H2Options::max_concurrent_streams (100) streams, fewer if the server's
// SETTINGS say so; available_streams() tells a pool when to open another connection.
// Profiles (tunnel/hbone's CONNECT client) derive from it. See H2Connection for the data
// path. Single-threaded.
#include <memory>

#include "tunnel/http/h2_connection.hpp"

namespace mesh::tunnel::http {

class H2Client : public H2Connection {
 public:
  // Queues the connection preface and SETTINGS; flush() writes them to `sink`. `sink` and
  // `clock` must outlive the client.
  static base::Result<std::unique_ptr<H2Client>> create(ByteSink& sink, const base::Clock& clock,
                                                        const H2Options& options = H2Options::client());

  // Opens a stream. Fails (Errc::Limit) when no stream is available, (Errc::Closed) when the
  // connection failed or is going away, (Errc::Invalid) for a bad header.
  base::Result<StreamId> open(const RequestHead& head, bool end_stream);
  size_t available_streams() const;
  // The final response head; nullptr until the Response event.
  const ResponseHead* response(StreamId id) const;

 protected:
  using H2Connection::H2Connection;
  // With `hold_body` the bytes written before a 2xx response wait for it, and are never
  // sent if the answer is not 2xx (CONNECT: the tunnel opens with the 200).
  base::Result<StreamId> open_stream(const RequestHead& head, bool end_stream, bool hold_body);

 private:
  void on_header(detail::Stream& s, std::string_view name, std::string_view value) final;
  void on_headers_done(detail::Stream& s, bool end_stream) final;
};

}  // namespace mesh::tunnel::http
