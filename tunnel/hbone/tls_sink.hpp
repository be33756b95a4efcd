#pragma once
// TlsSink: the ByteSink of an HBONE connection in the daemon. An H2Connection's frames go
// straight into the connection's TlsSession and become 16 KiB TLS records without an
// intermediate buffer. A TlsSink refers to its TlsSession: keep the session at a fixed
// address (in the connection object) for as long as the sink and the H2Connection using it
// exist.
#include "tunnel/http/byte_sink.hpp"
#include "tunnel/tls/tls_session.hpp"

namespace mesh::tunnel::hbone {

class TlsSink final : public http::ByteSink {
 public:
  explicit TlsSink(TlsSession& tls) : tls_(tls) {}
  void write(std::span<const uint8_t> bytes) override { tls_.write(bytes); }
  size_t buffered() const override { return tls_.output().size(); }

 private:
  TlsSession& tls_;
};

}  // namespace mesh::tunnel::hbone
