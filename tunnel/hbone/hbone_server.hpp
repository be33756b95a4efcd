#pragma once
// HboneServer: the inbound side of one HBONE connection (port 15008, after TLS). Each CONNECT
// stream raises a Request event; request(id) gives its authority (parsed to an address when
// it is ip:port) and its traceparent/baggage/forwarded headers. The caller decides and
// answers with respond(): 200 opens the tunnel (bytes both ways), 400/401/403/503 end the
// stream. Requests that are not CONNECT or carry a malformed authority are answered 400
// here and reported as StreamRejected (counted by reason). At most
// H2Options::max_concurrent_streams (200) streams. See H2Connection for the data path.
#include <memory>
#include <vector>

#include "tunnel/hbone/h2_connection.hpp"

namespace mesh::tunnel::hbone {

class HboneServer final : public H2Connection {
 public:
  // Queues our SETTINGS; the client's preface is expected first on receive(). `sink` and
  // `clock` must outlive the server.
  static base::Result<std::unique_ptr<HboneServer>> create(ByteSink& sink, const base::Clock& clock,
                                                           const H2Options& options = H2Options::server());

  const ConnectRequest* request(StreamId id) const;
  // Answers a Request once. `status` must be a final status (200..599).
  base::Status respond(StreamId id, int status, const std::vector<Header>& headers = {});

 private:
  using H2Connection::H2Connection;
  void on_header(detail::Stream& s, std::string_view name, std::string_view value) override;
  void on_headers_done(detail::Stream& s, bool end_stream) override;
  void reject(detail::Stream& s, StreamReject why);
};

}  // namespace mesh::tunnel::hbone
