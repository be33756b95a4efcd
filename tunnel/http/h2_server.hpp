#pragma once
// H2Server: the server side of one HTTP/2 connection, for any method. Each request head
// raises a Request event; request(id) gives it (pseudo-headers as fields, the rest in its
// HeaderMap). The body arrives as Data events (peek/consume), its end as PeerEnd, after which
// trailers(id) holds any request trailers. The caller answers once with respond(): with
// end_stream the HEADERS end the stream, otherwise a body follows through write() and
// close_write(), optionally with trailers (gRPC's grpc-status). At most
// H2Options::max_concurrent_streams (200) streams. Profiles (tunnel/hbone's CONNECT server)
// derive from it and vet each request in admit(). See H2Connection for the data path.
// Single-threaded.
#include <memory>

#include "tunnel/http/h2_connection.hpp"

namespace mesh::tunnel::http {

class H2Server : public H2Connection {
 public:
  // Queues our SETTINGS; the client's preface is expected first on receive(). `sink` and
  // `clock` must outlive the server.
  static base::Result<std::unique_ptr<H2Server>> create(ByteSink& sink, const base::Clock& clock,
                                                        const H2Options& options = H2Options::server());

  // The request head of a stream reported by a Request event; nullptr for unknown streams.
  const RequestHead* request(StreamId id) const;
  // Answers a Request once. `head.status` must be a final status (200..599).
  base::Status respond(StreamId id, const ResponseHead& head, bool end_stream);

 protected:
  using H2Connection::H2Connection;
  // A complete request head, before its Request event. Return false after answering the
  // request with reject(): then no Request event is raised and its body is dropped.
  virtual bool admit(detail::Stream& s);
  // Answers `status` with END_STREAM and reports StreamRejected with `reason` (a
  // StreamReject value, or a profile's own reason numbered after them).
  void reject(detail::Stream& s, int status, uint32_t reason);

 private:
  void on_header(detail::Stream& s, std::string_view name, std::string_view value) final;
  void on_headers_done(detail::Stream& s, bool end_stream) final;
};

}  // namespace mesh::tunnel::http
