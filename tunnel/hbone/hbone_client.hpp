#pragma once
// HboneClient: the outbound side of one HBONE connection (HTTP/2 over the mTLS session to
// a peer's port 15008), a CONNECT profile over http::H2Client. open() sends a CONNECT with
// `:authority dst-ip:port` and the optional traceparent/baggage/forwarded headers; the
// Response event carries the status (200 = tunnel open, 401/403 denied, 503 no upstream,
// ...). Bytes written before the 200 are held and sent after it. Up to
// H2Options::max_concurrent_streams (100) streams, fewer if the server's SETTINGS say so;
// available_streams() tells the pool when to open another connection. open() hides
// H2Client's (a CONNECT never ends its request side with the head). See http::H2Connection
// for the data path. Single-threaded.
#include <memory>

#include "tunnel/hbone/hbone_types.hpp"
#include "tunnel/http/h2_client.hpp"

namespace mesh::tunnel::hbone {

class HboneClient final : public http::H2Client {
 public:
  // Queues the connection preface and SETTINGS; flush() writes them to `sink`. `sink` and
  // `clock` must outlive the client.
  static base::Result<std::unique_ptr<HboneClient>> create(http::ByteSink& sink, const base::Clock& clock,
                                                           const http::H2Options& options = http::H2Options::client());

  // Opens a CONNECT stream. Fails (Errc::Limit) when no stream is available, (Errc::Closed)
  // when the connection failed or is going away, (Errc::Invalid) for a bad header.
  base::Result<http::StreamId> open(const ConnectRequest& request);
  // The response status (0 until a final response arrives) and its headers (e.g. baggage).
  int status(http::StreamId id) const;
  const http::HeaderMap* response_headers(http::StreamId id) const;

 private:
  using H2Client::H2Client;
};

}  // namespace mesh::tunnel::hbone
