#pragma once
// HboneServer: the inbound side of one HBONE connection (port 15008, after TLS), a CONNECT
// profile over http::H2Server. Each CONNECT stream raises a Request event; request(id)
// gives its authority (parsed to an address when it is ip:port) and its
// traceparent/baggage/forwarded headers. The caller decides and answers with respond():
// 200 opens the tunnel (bytes both ways), 400/401/403/503 end the stream. Requests that are
// not CONNECT or carry a malformed authority are answered 400 here and reported as
// StreamRejected (counted by hbone::StreamReject). At most H2Options::max_concurrent_streams
// (200) streams. request() and respond() hide H2Server's on purpose: an HBONE caller deals
// in ConnectRequests and statuses, never in bodies of a response. See http::H2Connection for
// the data path.
#include <memory>
#include <vector>

#include "tunnel/hbone/hbone_types.hpp"
#include "tunnel/http/h2_server.hpp"

namespace mesh::tunnel::hbone {

class HboneServer final : public http::H2Server {
 public:
  // Queues our SETTINGS; the client's preface is expected first on receive(). `sink` and
  // `clock` must outlive the server.
  static base::Result<std::unique_ptr<HboneServer>> create(http::ByteSink& sink, const base::Clock& clock,
                                                           const http::H2Options& options = http::H2Options::server());

  const ConnectRequest* request(http::StreamId id) const;
  // Answers a Request once. `status` must be a final status (200..599); a 2xx opens the
  // tunnel, anything else ends the stream.
  base::Status respond(http::StreamId id, int status, const std::vector<http::Header>& headers = {});

 private:
  using H2Server::H2Server;
  std::unique_ptr<http::detail::Stream> new_stream(http::StreamId id) override;
  bool admit(http::detail::Stream& s) override;
};

}  // namespace mesh::tunnel::hbone
