#pragma once
// Test support: an HboneClient and an HboneServer connected in memory, either through a
// real TLS 1.3 session pair (as in the daemon) or directly (plaintext, for protocol tests).
// pump() moves bytes both ways until quiet and collects each side's events; it never
// consumes stream data, so tests decide what the "application" reads.
#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <vector>

#include "tests/support/h2_link.hpp"
#include "tests/support/tls_test_pki.hpp"
#include "tunnel/hbone/hbone_client.hpp"
#include "tunnel/hbone/hbone_server.hpp"
#include "tunnel/hbone/tls_sink.hpp"

namespace mesh::testing {

namespace hb = mesh::tunnel::hbone;
namespace http = mesh::tunnel::http;

class HboneLink : public H2LinkEvents {
 public:
  enum class Mode { Tls, Plain };

  explicit HboneLink(Mode mode = Mode::Tls, http::H2Options client_opts = http::H2Options::client(),
                     http::H2Options server_opts = http::H2Options::server())
      : mode_(mode) {
    if (mode == Mode::Tls) {
      ctls_.emplace(*tunnel::TlsSession::client(pki_.client_ctx("spiffe://cluster.local/ns/a/sa/client"),
                                                {sid("spiffe://cluster.local/ns/b/sa/server")}));
      stls_.emplace(*tunnel::TlsSession::server(pki_.server_ctx("spiffe://cluster.local/ns/b/sa/server")));
      csink_ = std::make_unique<hb::TlsSink>(*ctls_);
      ssink_ = std::make_unique<hb::TlsSink>(*stls_);
    } else {
      csink_ = std::make_unique<http::VectorSink>();
      ssink_ = std::make_unique<http::VectorSink>();
    }
    client = std::move(*hb::HboneClient::create(*csink_, pki_.clock, client_opts));
    server = std::move(*hb::HboneServer::create(*ssink_, pki_.clock, server_opts));
  }

  std::unique_ptr<hb::HboneClient> client;
  std::unique_ptr<hb::HboneServer> server;

  base::FakeClock& clock() { return pki_.clock; }
  tunnel::TlsSession* client_tls() { return ctls_ ? &*ctls_ : nullptr; }

  // Moves bytes until neither side has anything left to say (bounded).
  void pump() {
    for (int round = 0; round < 10000; ++round) {
      size_t moved = step(*client, *server, ctls_, stls_, csink_.get(), server_events);
      moved += step(*server, *client, stls_, ctls_, ssink_.get(), client_events);
      drain_events(*client, client_events);
      drain_events(*server, server_events);
      if (moved == 0) return;
    }
    FAIL("HBONE pump did not settle");
  }

  // Plaintext bytes straight into the server, as if they came out of TLS (Plain mode).
  base::Status inject_to_server(std::span<const uint8_t> bytes) {
    auto st = server->receive(bytes);
    drain_events(*server, server_events);
    return st;
  }
  std::vector<uint8_t> take_server_output() {
    server->flush();
    auto& v = static_cast<http::VectorSink&>(*ssink_).bytes();
    std::vector<uint8_t> out;
    out.swap(v);
    drain_events(*server, server_events);
    return out;
  }

 private:
  size_t step(http::H2Connection& from, http::H2Connection& to, std::optional<tunnel::TlsSession>& ftls,
              std::optional<tunnel::TlsSession>& ttls, http::ByteSink* fsink, std::vector<http::Event>&) {
    size_t moved = 0;
    for (int i = 0; i < 1000; ++i) {
      from.flush();
      std::vector<uint8_t> wire;
      if (mode_ == Mode::Tls) {
        ftls->flush();
        wire.resize(ftls->output().size());
        ftls->output().peek(wire);
        ftls->output().consume(wire.size());
      } else {
        wire.swap(static_cast<http::VectorSink*>(fsink)->bytes());
      }
      if (wire.empty()) break;
      moved += wire.size();
      deliver(wire, to, ttls);
    }
    return moved;
  }

  void deliver(const std::vector<uint8_t>& wire, http::H2Connection& to, std::optional<tunnel::TlsSession>& ttls) {
    if (mode_ == Mode::Plain) {
      (void)to.receive(wire);
      return;
    }
    std::vector<uint8_t> plain(64 * 1024);
    std::span<const uint8_t> in(wire);
    for (int guard = 0; guard < 100000; ++guard) {
      auto p = ttls->receive(in, plain);
      if (p.produced > 0) (void)to.receive({plain.data(), p.produced});
      in = in.subspan(p.consumed);
      if (p.consumed == 0 && p.produced == 0) break;
    }
  }

  Mode mode_;
  TestPki pki_;
  std::optional<tunnel::TlsSession> ctls_, stls_;
  std::unique_ptr<http::ByteSink> csink_, ssink_;
};

}  // namespace mesh::testing
