#pragma once
// HboneClient: the outbound side of one HBONE connection (HTTP/2 over the mTLS session to
// a peer's port 15008). open() sends a CONNECT with `:authority dst-ip:port` and the
// optional traceparent/baggage/forwarded headers; the Response event carries the status
// (200 = tunnel open, 401/403 denied, 503 no upstream, ...). Bytes written before the 200
// are held and sent after it. Up to H2Options::max_concurrent_streams (100) streams, fewer
// if the server's SETTINGS say so; available_streams() tells the pool when to open another
// connection. See H2Connection for the data path. Single-threaded.
#include <memory>
#include <vector>

#include "tunnel/hbone/h2_connection.hpp"

namespace mesh::tunnel::hbone {

class HboneClient final : public H2Connection {
 public:
  // Queues the connection preface and SETTINGS; flush() writes them to `sink`. `sink` and
  // `clock` must outlive the client.
  static base::Result<std::unique_ptr<HboneClient>> create(ByteSink& sink, const base::Clock& clock,
                                                           const H2Options& options = H2Options::client());

  // Opens a CONNECT stream. Fails (Errc::Limit) when no stream is available, (Errc::Closed)
  // when the connection failed or is going away, (Errc::Invalid) for a bad header.
  base::Result<StreamId> open(const ConnectRequest& request);
  size_t available_streams() const;
  // The response status (0 until a final response arrives) and its headers (e.g. baggage).
  int status(StreamId id) const;
  const std::vector<Header>* response_headers(StreamId id) const;

 private:
  using H2Connection::H2Connection;
  void on_header(detail::Stream& s, std::string_view name, std::string_view value) override;
  void on_headers_done(detail::Stream& s, bool end_stream) override;
};

}  // namespace mesh::tunnel::hbone
