// In-process micro benchmark of the tunnel engines (one thread, no sockets):
//   1. ECDSA P-256 sign and verify per second (BoringSSL), the crypto floor of a handshake;
//   2. full mTLS 1.3 handshakes per second through TlsSession, per side and per pair, and
//      their ratio to that floor;
//   3. bulk throughput: plaintext -> HBONE DATA framing -> TLS records -> decrypt -> deframe
//      -> consumed, client to server, both ends on this one core; plus TLS alone and raw
//      AES-128-GCM seal for reference;
//   4. new HBONE streams per second on one pooled connection (open, 200, close, release).
// All rates are per second of this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so other
// processes on a shared machine do not distort them (they still share caches).
// Usage: tunnel_bench [CPU seconds per measurement, default 2]
#include <openssl/aead.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/ecdsa.h>
#include <openssl/nid.h>
#include <openssl/sha.h>

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "daemon/base/clock.hpp"
#include "tunnel/hbone/hbone_client.hpp"
#include "tunnel/hbone/hbone_server.hpp"
#include "tunnel/hbone/tls_sink.hpp"
#include "tunnel/tls/certificate_authority.hpp"
#include "tunnel/tls/tls_session.hpp"

using namespace mesh;
// The calling thread's CPU time: rates are "per core" even when the machine is shared.
struct Clock {
  using time_point = std::chrono::duration<double>;
  static time_point now() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return time_point(static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9);
  }
};
namespace hb = mesh::tunnel::hbone;
namespace http = mesh::tunnel::http;

namespace {

double g_seconds = 2.0;

double seconds_since(Clock::time_point t0) { return (Clock::now() - t0).count(); }

// Runs `op` in batches until g_seconds have passed; returns operations per second.
double rate(const std::function<void()>& op, int batch = 16) {
  for (int i = 0; i < batch; ++i) op();  // warm-up
  long n = 0;
  auto t0 = Clock::now();
  while (seconds_since(t0) < g_seconds) {
    for (int i = 0; i < batch; ++i) op();
    n += batch;
  }
  return static_cast<double>(n) / seconds_since(t0);
}

struct Ecdsa {
  double sign_per_s = 0;
  double verify_per_s = 0;
};

Ecdsa measure_ecdsa() {
  bssl::UniquePtr<EC_KEY> key(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  EC_KEY_generate_key(key.get());
  uint8_t digest[32];
  SHA256(reinterpret_cast<const uint8_t*>("meshd"), 5, digest);
  std::vector<uint8_t> sig(ECDSA_size(key.get()));
  unsigned sig_len = 0;
  Ecdsa r;
  r.sign_per_s = rate([&] { ECDSA_sign(0, digest, sizeof digest, sig.data(), &sig_len, key.get()); });
  r.verify_per_s = rate([&] {
    if (ECDSA_verify(0, digest, sizeof digest, sig.data(), sig_len, key.get()) != 1) std::abort();
  });
  return r;
}

struct Pki {
  base::SystemClock& clock = base::SystemClock::instance();
  tunnel::CertificateAuthority ca = *tunnel::CertificateAuthority::create_root("cluster.local", clock.wall(), std::chrono::hours(24));
  std::shared_ptr<const tunnel::TlsContext> ctx(tunnel::TlsRole role, const char* id, size_t cache = 4096) {
    auto ic = *ca.issue(*tunnel::SpiffeId::parse(id), clock.wall(), std::chrono::hours(1));
    auto creds = *tunnel::Credentials::from_pem(ic.cert_chain_pem, ic.key_pem, ic.trust_bundle_pem, clock.wall());
    return *tunnel::TlsContext::create(role, creds, clock, tunnel::TlsContextOptions{.verified_chain_cache = cache});
  }
};

constexpr const char* kServer = "spiffe://cluster.local/ns/b/sa/server";
constexpr const char* kClient = "spiffe://cluster.local/ns/a/sa/client";

// Moves `from`'s ciphertext into `to`, timing `to`'s work into `spent`.
void deliver(tunnel::TlsSession& from, tunnel::TlsSession& to, std::vector<uint8_t>& plain, double& spent) {
  iovec iov[64];
  while (!from.output().empty()) {
    size_t n = from.output().gather(iov);
    size_t total = 0;
    auto t0 = Clock::now();
    for (size_t i = 0; i < n; ++i) {
      std::span<const uint8_t> in(static_cast<const uint8_t*>(iov[i].iov_base), iov[i].iov_len);
      while (!in.empty()) {
        auto p = to.receive(in, plain);
        in = in.subspan(p.consumed);
        if (p.consumed == 0 && p.produced == 0) break;
      }
      total += iov[i].iov_len;
    }
    spent += seconds_since(t0);
    from.output().consume(total);
  }
}

// Handshake pairs on one core, timing each side's own work. `cache` = 0 verifies every peer
// chain (a peer seen for the first time); otherwise returning peers hit the chain cache.
void bench_handshakes(const Ecdsa& e, size_t cache) {
  Pki pki;
  auto cctx = pki.ctx(tunnel::TlsRole::Client, kClient, cache);
  auto sctx = pki.ctx(tunnel::TlsRole::Server, kServer, cache);
  std::vector<tunnel::SpiffeId> expect = {*tunnel::SpiffeId::parse(kServer)};
  std::vector<uint8_t> plain(16384);
  double client_s = 0, server_s = 0;
  long pairs = 0;
  auto t0 = Clock::now();
  while (seconds_since(t0) < g_seconds) {
    auto c0 = Clock::now();
    auto client = *tunnel::TlsSession::client(cctx, expect);
    client_s += seconds_since(c0);
    auto s0 = Clock::now();
    auto server = *tunnel::TlsSession::server(sctx);
    server_s += seconds_since(s0);
    for (int round = 0; round < 4 && !(client.established() && server.established()); ++round) {
      deliver(client, server, plain, server_s);
      deliver(server, client, plain, client_s);
    }
    if (!client.established() || !server.established()) std::abort();
    ++pairs;
  }
  double wall = seconds_since(t0);
  // ECDSA work per side: one signature (CertificateVerify); verifications: the peer's
  // CertificateVerify, plus the CA's signature on the peer's certificate unless cached.
  double floor_2v = 1.0 / (1.0 / e.sign_per_s + 2.0 / e.verify_per_s);
  double floor_1v = 1.0 / (1.0 / e.sign_per_s + 1.0 / e.verify_per_s);
  double server_rate = pairs / server_s, client_rate = pairs / client_s;
  const char* label = cache == 0 ? "new peers (no chain cache)" : "returning peers (chain cached)";
  std::printf("mTLS handshakes, %-30s server %5.0f /s, client %5.0f /s per core; pairs %5.0f /s on one core\n",
              label, server_rate, client_rate, pairs / wall);
  std::printf("    server side = %3.0f%% of sign+2*verify (%4.0f /s), %3.0f%% of sign+verify (%4.0f /s)\n",
              100 * server_rate / floor_2v, floor_2v, 100 * server_rate / floor_1v, floor_1v);
}

// A client and a server connection over TLS, pumped by hand.
struct Tunnel {
  Pki pki;
  tunnel::TlsSession ctls = *tunnel::TlsSession::client(pki.ctx(tunnel::TlsRole::Client, kClient),
                                                        {*tunnel::SpiffeId::parse(kServer)});
  tunnel::TlsSession stls = *tunnel::TlsSession::server(pki.ctx(tunnel::TlsRole::Server, kServer));
  hb::TlsSink csink{ctls}, ssink{stls};
  std::unique_ptr<hb::HboneClient> client = std::move(*hb::HboneClient::create(csink, pki.clock));
  std::unique_ptr<hb::HboneServer> server = std::move(*hb::HboneServer::create(ssink, pki.clock));
  std::vector<uint8_t> plain = std::vector<uint8_t>(256 * 1024);
  double unused = 0;

  void to_server() {
    client->flush();
    ctls.flush();
    feed(ctls, stls, *server);
  }
  void to_client() {
    server->flush();
    stls.flush();
    feed(stls, ctls, *client);
  }
  void feed(tunnel::TlsSession& from, tunnel::TlsSession& to, http::H2Connection& h2) {
    iovec iov[64];
    while (!from.output().empty()) {
      size_t n = from.output().gather(iov);
      size_t total = 0;
      for (size_t i = 0; i < n; ++i) {
        std::span<const uint8_t> in(static_cast<const uint8_t*>(iov[i].iov_base), iov[i].iov_len);
        while (!in.empty()) {
          auto p = to.receive(in, plain);
          if (p.produced > 0 && !h2.receive({plain.data(), p.produced})) std::abort();
          in = in.subspan(p.consumed);
          if (p.consumed == 0 && p.produced == 0) break;
        }
        total += iov[i].iov_len;
      }
      from.output().consume(total);
    }
  }
  void settle() {
    for (int i = 0; i < 20; ++i) {
      to_server();
      to_client();
    }
  }
  http::StreamId open_answered() {
    auto id = *client->open(hb::ConnectRequest{.authority = "10.0.0.2:80"});
    to_server();
    if (!server->respond(id, 200)) std::abort();
    to_client();
    return id;
  }
};

void bench_bulk() {
  Tunnel t;
  t.settle();
  auto id = t.open_answered();
  std::vector<uint8_t> chunk(256 * 1024, 0x5a);
  size_t moved = 0;
  auto step = [&] {
    t.client->write(id, chunk);
    for (int i = 0; i < 8 && t.client->send_buffered(id) > 0; ++i) {
      t.to_server();
      size_t n = t.server->readable(id);
      moved += n;
      t.server->consume(id, n);
      t.to_client();  // window updates
    }
  };
  for (int i = 0; i < 16; ++i) step();
  moved = 0;
  auto t0 = Clock::now();
  while (seconds_since(t0) < g_seconds) step();
  double s = seconds_since(t0);
  std::printf("bulk HBONE over TLS, one stream:  %8.2f GB/s payload (write -> frame -> seal -> open -> deframe -> consume, both ends on one core)\n",
              moved / s / 1e9);
}

void bench_tls_only() {
  Pki pki;
  auto client = *tunnel::TlsSession::client(pki.ctx(tunnel::TlsRole::Client, kClient), {*tunnel::SpiffeId::parse(kServer)});
  auto server = *tunnel::TlsSession::server(pki.ctx(tunnel::TlsRole::Server, kServer));
  std::vector<uint8_t> plain(256 * 1024);
  double unused = 0;
  for (int i = 0; i < 4; ++i) {
    deliver(client, server, plain, unused);
    deliver(server, client, plain, unused);
  }
  std::vector<uint8_t> chunk(256 * 1024, 0x33);
  double bytes = 0;
  auto t0 = Clock::now();
  while (seconds_since(t0) < g_seconds) {
    client.write(chunk);
    client.flush();
    deliver(client, server, plain, unused);
    bytes += chunk.size();
  }
  std::printf("bulk TLS records alone:           %8.2f GB/s (seal + open, both ends on one core)\n",
              bytes / seconds_since(t0) / 1e9);
}

void bench_aead() {
  const EVP_AEAD* aead = EVP_aead_aes_128_gcm();
  uint8_t key[16] = {1}, nonce[12] = {2};
  bssl::ScopedEVP_AEAD_CTX ctx;
  EVP_AEAD_CTX_init(ctx.get(), aead, key, sizeof key, 16, nullptr);
  std::vector<uint8_t> in(16384, 7), out(16384 + 16);
  size_t out_len = 0;
  double per_s = rate([&] {
    EVP_AEAD_CTX_seal(ctx.get(), out.data(), &out_len, out.size(), nonce, sizeof nonce, in.data(), in.size(), nullptr, 0);
  });
  std::printf("AES-128-GCM seal, 16 KiB:         %8.2f GB/s (BoringSSL, reference)\n", per_s * 16384 / 1e9);
}

void bench_streams() {
  Tunnel t;
  t.settle();
  std::vector<uint8_t> hello(64, 'h');
  auto one_flow = [&] {
    // What the daemon does per proxied connection: CONNECT, 200, a request, both halves end.
    std::vector<http::StreamId> ids;
    for (int i = 0; i < 50; ++i) {
      auto id = *t.client->open(hb::ConnectRequest{.authority = "10.0.0.2:80"});
      t.client->write(id, hello);
      t.client->close_write(id);
      ids.push_back(id);
    }
    t.to_server();
    http::Event ev;
    while (t.server->next_event(ev)) {
      if (ev.kind == http::EventKind::Request) {
        (void)t.server->respond(ev.stream, 200);
        t.server->close_write(ev.stream);
      }
    }
    t.to_client();
    t.to_server();
    while (t.server->next_event(ev)) {
      if (ev.kind == http::EventKind::Data) t.server->consume(ev.stream, t.server->readable(ev.stream));
      if (ev.kind == http::EventKind::Closed) t.server->release(ev.stream);
    }
    while (t.client->next_event(ev)) {
      if (ev.kind == http::EventKind::Closed) t.client->release(ev.stream);
    }
    t.to_client();
    if (t.client->open_streams() != 0) std::abort();
  };
  double batches = rate(one_flow, 1);
  std::printf("new HBONE streams on one pooled connection: %8.0f /s (open, 200, 64 B, half-close both ways, release; both ends)\n",
              batches * 50);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_seconds = std::atof(argv[1]);
  Ecdsa e = measure_ecdsa();
  std::printf("ECDSA P-256 (BoringSSL, one core): sign %.0f /s, verify %.0f /s\n", e.sign_per_s, e.verify_per_s);
  bench_handshakes(e, 0);
  bench_handshakes(e, 4096);
  bench_aead();
  bench_tls_only();
  bench_bulk();
  bench_streams();
  return 0;
}
