#pragma once
// Test fixture: one proxy Worker on its own thread serving both HBONE hops of a single node
// on 127.0.0.1 — an outbound listener whose connections all go through a pooled mTLS tunnel
// (client identity .../sa/a) to the worker's own 15008 listener (identity .../sa/b), which
// relays each CONNECT to `upstream` — with TLS contexts from the test PKI.
#include <string>

#include "daemon/proxy/l4/splice.hpp"
#include "tests/daemon/proxy/relay_fixture.hpp"
#include "tests/support/tls_test_pki.hpp"

namespace mesh::testing {

constexpr std::string_view kClientId = "spiffe://cluster.local/ns/default/sa/a";
constexpr std::string_view kServerId = "spiffe://cluster.local/ns/default/sa/b";

inline std::string pattern(size_t n, unsigned seed) {
  std::string out(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (auto& c : out) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  return out;
}

// A worker serving an outbound listener that tunnels everything to its own 15008 listener,
// which relays each CONNECT to `upstream`.
struct HboneFixture {
  explicit HboneFixture(base::SocketAddr upstream, base::Duration idle = 1h) : budget(1000) {
    auto w = proxy::Worker::create({.index = 0, .ring_entries = 256, .buffer_size = 16384, .buffer_count = 64}, budget);
    REQUIRE(w);
    worker = std::move(*w);
    auto policy = std::make_shared<proxy::DialProfile>();
    policy->name = "test";
    policy->connect_timeout = 5s;
    policy->idle_timeout = idle;

    auto hl = io::listen_tcp(base::SocketAddr::parse("127.0.0.1:0").value());
    REQUIRE(hl);
    hbone_addr = io::local_address(hl->get()).value();
    auto server = std::make_shared<proxy::TunnelServerSpec>();
    server->tls = [ctx = pki.server_ctx(kServerId)] { return ctx; };
    server->decide = [upstream](const tunnel::hbone::ConnectRequest&, const tunnel::SpiffeId&, const base::SocketAddr&,
                                 const base::SocketAddr&) {
      return proxy::InboundDecision{200, upstream, proxy::RejectReason::kCount};
    };
    worker->add_listener(proxy::ListenerSpec{1, std::move(*hl), policy, hbone_stats, nullptr, std::move(server)});

    auto ol = io::listen_tcp(base::SocketAddr::parse("127.0.0.1:0").value());
    REQUIRE(ol);
    listen = io::local_address(ol->get()).value();
    auto target = std::make_shared<proxy::OutboundTunnel>();
    target->key.source = sid(kClientId);
    target->key.destinations = {sid(kServerId)};
    target->key.node = hbone_addr;
    target->tls = pki.client_ctx(kClientId);
    target->authority = upstream.to_string();
    worker->add_listener(proxy::ListenerSpec{2, std::move(*ol), policy, out_stats,
                                             [target](int) { return proxy::FlowTarget::through(target); }, nullptr});
    thread = std::thread([this] { REQUIRE(worker->run()); });
  }
  ~HboneFixture() {
    worker->stop();
    thread.join();
  }

  TestPki pki;
  proxy::ConnectionBudget budget;
  std::shared_ptr<proxy::RelayStats> out_stats = std::make_shared<proxy::RelayStats>();
  std::shared_ptr<proxy::RelayStats> hbone_stats = std::make_shared<proxy::RelayStats>();
  std::unique_ptr<proxy::Worker> worker;
  base::SocketAddr listen, hbone_addr;
  std::thread thread;
};

}  // namespace mesh::testing
