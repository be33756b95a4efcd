// TlsSession's data path: byte-exact transfer, record coalescing, small buffers, close and
// EOF, corrupted records.
#include <doctest/doctest.h>

#include <random>

#include "tests/support/tls_test_pki.hpp"
#include "tunnel/tls/tls_session.hpp"

using namespace mesh;
using namespace std::chrono_literals;
using mesh::testing::pump;
using mesh::testing::sid;
using mesh::testing::TestPki;
using mesh::testing::transfer;
using tunnel::TlsFailure;
using tunnel::TlsSession;
using tunnel::TlsState;

namespace {

struct Pair {
  TestPki pki;
  TlsSession client = *TlsSession::client(pki.client_ctx("spiffe://cluster.local/ns/a/sa/client"),
                                          {sid("spiffe://cluster.local/ns/b/sa/server")});
  TlsSession server = *TlsSession::server(pki.server_ctx("spiffe://cluster.local/ns/b/sa/server"));
  Pair() {
    pump(client, server);
    REQUIRE(client.established());
    REQUIRE(server.established());
  }
};

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

constexpr size_t kRecordOverhead = 5 + 16 + 1;  // header, AEAD tag, TLS 1.3 content type

}  // namespace

TEST_CASE("a megabyte each way arrives byte-exact in chunks of random size") {
  Pair p;
  auto up = random_bytes(1 << 20, 1);
  auto down = random_bytes(1 << 20, 2);
  std::mt19937 rng(3);
  std::vector<uint8_t> got_up, got_down;
  for (size_t off = 0; off < up.size();) {
    size_t n = std::min<size_t>(rng() % 70000 + 1, up.size() - off);
    p.client.write({up.data() + off, n});
    p.server.write({down.data() + off, n});
    off += n;
    if (rng() % 3 == 0) {
      p.client.flush();
      p.server.flush();
      pump(p.client, p.server, got_down, got_up);
    }
  }
  p.client.flush();
  p.server.flush();
  pump(p.client, p.server, got_down, got_up);
  CHECK(got_up == up);
  CHECK(got_down == down);
}

TEST_CASE("small writes are coalesced into one record until flush") {
  Pair p;
  uint64_t before = p.client.records_sealed();
  std::vector<uint8_t> ten(10, 'x');
  for (int i = 0; i < 1000; ++i) p.client.write(ten);
  CHECK(p.client.output().empty());  // nothing sealed yet: 10 000 bytes < 16 KiB
  p.client.flush();
  CHECK(p.client.records_sealed() - before == 1);
  CHECK(p.client.output().size() == 10000 + kRecordOverhead);
  std::vector<uint8_t> got;
  transfer(p.client, p.server, got);
  CHECK(got.size() == 10000);
}

TEST_CASE("bulk writes are cut into full 16 KiB records without waiting for flush") {
  Pair p;
  uint64_t before = p.client.records_sealed();
  auto big = random_bytes(64 * 1024 + 100, 9);
  p.client.write(big);
  CHECK(p.client.records_sealed() - before == 4);
  CHECK(p.client.output().size() == 4 * (16384 + kRecordOverhead));
  p.client.flush();
  CHECK(p.client.records_sealed() - before == 5);
  // A header-sized write followed by a payload still fills records completely.
  p.client.write(std::vector<uint8_t>(9, 0));
  p.client.write(random_bytes(16384 * 2, 4));
  CHECK(p.client.records_sealed() - before == 7);
  std::vector<uint8_t> got;
  p.client.flush();
  transfer(p.client, p.server, got);
  CHECK(got.size() == big.size() + 9 + 16384 * 2);
}

TEST_CASE("receive works with a tiny plaintext buffer and one ciphertext byte at a time") {
  Pair p;
  auto data = random_bytes(40000, 5);
  p.client.write(data);
  p.client.flush();
  std::vector<uint8_t> wire(p.client.output().size());
  p.client.output().peek(wire);
  p.client.output().consume(wire.size());
  std::vector<uint8_t> got;
  uint8_t out[7];
  for (size_t i = 0; i < wire.size(); ++i) {
    std::span<const uint8_t> in(&wire[i], 1);
    for (int guard = 0; guard < 100000; ++guard) {
      auto pr = p.server.receive(in, out);
      got.insert(got.end(), out, out + pr.produced);
      in = in.subspan(pr.consumed);
      if (pr.produced < sizeof out && in.empty()) break;
    }
    REQUIRE(in.empty());
  }
  CHECK(got == data);
}

TEST_CASE("receive stops when the plaintext buffer is full and resumes with the rest") {
  Pair p;
  auto data = random_bytes(50000, 6);
  p.client.write(data);
  p.client.flush();
  std::vector<uint8_t> wire(p.client.output().size());
  p.client.output().peek(wire);
  std::vector<uint8_t> out(1000), got;
  std::span<const uint8_t> in(wire);
  int calls = 0;
  while (got.size() < data.size() && calls++ < 1000) {
    auto pr = p.server.receive(in, out);
    CHECK(pr.produced <= out.size());
    got.insert(got.end(), out.begin(), out.begin() + static_cast<long>(pr.produced));
    in = in.subspan(pr.consumed);
  }
  CHECK(got == data);
  CHECK(in.empty());
}

TEST_CASE("plaintext written before the handshake completes is delivered after it") {
  TestPki pki;
  auto client = *TlsSession::client(pki.client_ctx("spiffe://cluster.local/ns/a/sa/c"),
                                    {sid("spiffe://cluster.local/ns/b/sa/s")});
  auto server = *TlsSession::server(pki.server_ctx("spiffe://cluster.local/ns/b/sa/s"));
  std::string hello = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  client.write({reinterpret_cast<const uint8_t*>(hello.data()), hello.size()});
  std::vector<uint8_t> at_client, at_server;
  pump(client, server, at_client, at_server);
  CHECK(std::string(at_server.begin(), at_server.end()) == hello);
}

TEST_CASE("close sends close_notify and the peer reports PeerClosed but may still write back") {
  Pair p;
  p.client.write(std::vector<uint8_t>(100, 'a'));
  p.client.close();
  std::vector<uint8_t> at_client, at_server;
  pump(p.client, p.server, at_client, at_server);
  CHECK(at_server.size() == 100);
  CHECK(p.server.state() == TlsState::PeerClosed);
  p.server.write(std::vector<uint8_t>(5, 'b'));
  p.server.flush();
  pump(p.client, p.server, at_client, at_server);
  CHECK(at_client.size() == 5);
  p.client.write(std::vector<uint8_t>(5, 'c'));  // ignored after close()
  CHECK(p.client.output().empty());
}

TEST_CASE("a transport EOF after the handshake is a peer close, not a failure") {
  Pair p;
  p.server.receive_eof();
  CHECK(p.server.state() == TlsState::PeerClosed);
  CHECK(p.server.failure() == TlsFailure::None);
}

TEST_CASE("a corrupted record after the handshake fails the session as a bad record with an alert") {
  Pair p;
  p.client.write(std::vector<uint8_t>(1000, 'z'));
  p.client.flush();
  std::vector<uint8_t> wire(p.client.output().size());
  p.client.output().peek(wire);
  wire[wire.size() / 2] ^= 0x40;
  std::vector<uint8_t> out(4096);
  p.server.receive(wire, out);
  CHECK(p.server.state() == TlsState::Failed);
  CHECK(p.server.failure() == TlsFailure::BadRecord);
  CHECK_FALSE(p.server.output().empty());  // the bad_record_mac alert to send
  p.server.write(std::vector<uint8_t>(10, 'q'));  // ignored once failed
  std::vector<uint8_t> sink;
  transfer(p.server, p.client, sink);
  CHECK(p.client.state() == TlsState::Failed);
  CHECK(p.client.failure() == TlsFailure::PeerAlert);
}
