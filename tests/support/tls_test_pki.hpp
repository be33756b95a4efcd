#pragma once
// Test support: a FakeClock, a built-in CA for trust domain "cluster.local" and helpers that
// issue credentials and build contexts and sessions from it, plus pump() which carries
// bytes between two TlsSessions in memory (no sockets) until neither makes progress.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "daemon/base/clock.hpp"
#include "tunnel/tls/certificate_authority.hpp"
#include "tunnel/tls/credentials.hpp"
#include "tunnel/tls/tls_context.hpp"
#include "tunnel/tls/tls_session.hpp"

namespace mesh::testing {

using namespace std::chrono_literals;

inline tunnel::SpiffeId sid(std::string_view s) {
  auto id = tunnel::SpiffeId::parse(s);
  REQUIRE_MESSAGE(id.has_value(), std::string(s));
  return *id;
}

struct TestPki {
  explicit TestPki(std::string_view trust_domain = "cluster.local")
      : ca(make_ca(clock, trust_domain)) {}

  base::FakeClock clock;
  tunnel::CertificateAuthority ca;

  static tunnel::CertificateAuthority make_ca(base::FakeClock& clock, std::string_view td) {
    auto ca = tunnel::CertificateAuthority::create_root(td, clock.wall(), 24h * 365);
    REQUIRE(ca.has_value());
    return *ca;
  }

  tunnel::Credentials creds(std::string_view id, base::Duration validity = 24h) {
    auto issued = ca.issue(sid(id), clock.wall(), validity);
    REQUIRE(issued.has_value());
    auto c = tunnel::Credentials::from_pem(issued->cert_chain_pem, issued->key_pem,
                                           issued->trust_bundle_pem, clock.wall());
    REQUIRE_MESSAGE(c.has_value(), (c ? "" : c.error().message()));
    return *c;
  }

  std::shared_ptr<const tunnel::TlsContext> context(tunnel::TlsRole role, const tunnel::Credentials& c) {
    auto ctx = tunnel::TlsContext::create(role, c, clock);
    REQUIRE(ctx.has_value());
    return *ctx;
  }
  std::shared_ptr<const tunnel::TlsContext> server_ctx(std::string_view id) {
    return context(tunnel::TlsRole::Server, creds(id));
  }
  std::shared_ptr<const tunnel::TlsContext> client_ctx(std::string_view id) {
    return context(tunnel::TlsRole::Client, creds(id));
  }
};

// Moves every queued output byte of `from` into `to`, appending the plaintext `to` produces
// to `plain`. Returns the number of ciphertext bytes moved.
inline size_t transfer(tunnel::TlsSession& from, tunnel::TlsSession& to, std::vector<uint8_t>& plain) {
  size_t moved = 0;
  std::vector<uint8_t> buf(64 * 1024);
  while (!from.output().empty()) {
    std::vector<uint8_t> wire(from.output().size());
    from.output().peek(wire);
    from.output().consume(wire.size());
    std::span<const uint8_t> in(wire);
    for (int guard = 0; guard < 100000; ++guard) {
      auto p = to.receive(in, buf);
      plain.insert(plain.end(), buf.begin(), buf.begin() + static_cast<long>(p.produced));
      in = in.subspan(p.consumed);
      if (p.consumed == 0 && p.produced == 0) break;
    }
    moved += wire.size();
  }
  return moved;
}

// Pumps both directions until quiet (bounded).
inline void pump(tunnel::TlsSession& a, tunnel::TlsSession& b, std::vector<uint8_t>& a_plain,
                 std::vector<uint8_t>& b_plain) {
  for (int round = 0; round < 100; ++round) {
    size_t moved = transfer(a, b, b_plain) + transfer(b, a, a_plain);
    if (moved == 0) return;
  }
  FAIL("pump did not settle");
}

inline void pump(tunnel::TlsSession& a, tunnel::TlsSession& b) {
  std::vector<uint8_t> x, y;
  pump(a, b, x, y);
}

}  // namespace mesh::testing
