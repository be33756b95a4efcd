// HboneServer's answers to bad requests and hostile peers: every refusal has its status or
// reason, and a bad connection never touches another one.
#include "tunnel/hbone/hbone_server.hpp"

#include <doctest/doctest.h>

#include "tests/support/hbone_frames.hpp"
#include "tests/support/hbone_link.hpp"

using namespace mesh;
using mesh::testing::HboneLink;
namespace h2 = mesh::testing::h2;
namespace http = mesh::tunnel::http;
namespace hb = mesh::tunnel::hbone;
using http::ConnectionFailure;
using http::EventKind;
using hb::StreamReject;

namespace {

HboneLink plain() { return HboneLink(HboneLink::Mode::Plain); }

// A server fed raw bytes after a valid preface.
struct RawPeer {
  HboneLink link{HboneLink::Mode::Plain};
  RawPeer() { REQUIRE(link.inject_to_server(h2::preface_and_settings()).has_value()); }
  base::Status send(const h2::Bytes& b) { return link.inject_to_server(b); }
  hb::HboneServer& server() { return *link.server; }
};

size_t rejected(const HboneLink& link, StreamReject why) {
  size_t n = 0;
  for (const auto& e : link.server_events) n += e.kind == EventKind::StreamRejected && e.code == static_cast<uint32_t>(why);
  return n;
}

}  // namespace

TEST_CASE("a CONNECT with a malformed authority is answered 400 without the caller") {
  HboneLink link = plain();
  hb::ConnectRequest r;
  r.authority = "not-an-address";
  auto id = link.client->open(r);
  REQUIRE(id.has_value());
  link.pump();
  CHECK(link.count(link.server_events, EventKind::Request) == 0);
  CHECK(rejected(link, StreamReject::BadAuthority) == 1);
  auto resp = link.last(link.client_events, EventKind::Response);
  REQUIRE(resp.has_value());
  CHECK(resp->code == 400);
}

TEST_CASE("a request that is not CONNECT is answered 400") {
  RawPeer p;
  auto block = h2::header_block({{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "x:80"}});
  REQUIRE(p.send(h2::frame(h2::HEADERS, h2::END_HEADERS | h2::END_STREAM, 1, block)).has_value());
  CHECK(rejected(p.link, StreamReject::NotConnect) == 1);
  auto out = p.link.take_server_output();
  CHECK_FALSE(out.empty());  // SETTINGS, SETTINGS ACK and the 400
  CHECK(p.server().failure() == ConnectionFailure::None);
}

TEST_CASE("a CONNECT with :path is malformed and reset, the connection lives on") {
  RawPeer p;
  auto block = h2::header_block({{":method", "CONNECT"}, {":authority", "1.2.3.4:80"}, {":path", "/x"}});
  REQUIRE(p.send(h2::frame(h2::HEADERS, h2::END_HEADERS, 1, block)).has_value());
  p.link.take_server_output();
  CHECK(rejected(p.link, StreamReject::Malformed) == 1);
  REQUIRE(p.send(h2::connect_headers(3, "1.2.3.4:80")).has_value());
  CHECK(p.link.count(p.link.server_events, EventKind::Request, 3) == 1);
}

TEST_CASE("request headers over the header list limit reset only that stream") {
  auto opts = http::H2Options::server();
  opts.max_header_list = 1024;
  HboneLink link(HboneLink::Mode::Plain, http::H2Options::client(), opts);
  hb::ConnectRequest r;
  r.authority = "10.0.0.1:80";
  r.other.push_back({"x-big", std::string(2000, 'v')});
  auto id = link.client->open(r);
  REQUIRE(id.has_value());
  link.pump();
  CHECK(rejected(link, StreamReject::HeaderListTooLarge) == 1);
  CHECK(link.count(link.client_events, EventKind::Closed, *id) == 1);
  r.other.clear();
  auto ok = link.client->open(r);
  REQUIRE(ok.has_value());
  link.pump();
  CHECK(link.count(link.server_events, EventKind::Request, *ok) == 1);
}

TEST_CASE("bytes that are not an HTTP/2 preface fail the connection as a bad preface") {
  HboneLink link = plain();
  std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  auto st = link.inject_to_server({reinterpret_cast<const uint8_t*>(http.data()), http.size()});
  CHECK_FALSE(st.has_value());
  CHECK(link.server->failure() == ConnectionFailure::BadPreface);
  CHECK(link.server->done());
}

TEST_CASE("floods of control frames close the connection with a reason per frame kind") {
  struct Case {
    std::string name;
    h2::Bytes one;
    ConnectionFailure want;
  };
  std::vector<Case> cases = {
      {"SETTINGS", h2::frame(h2::SETTINGS, 0, 0), ConnectionFailure::FloodSettings},
      {"PING", h2::ping(7), ConnectionFailure::FloodPing},
      {"PRIORITY", h2::priority(9), ConnectionFailure::FloodIgnoredFrames},
      {"unknown type", h2::frame(0x42, 0, 0, {1, 2, 3}), ConnectionFailure::FloodIgnoredFrames},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    RawPeer p;
    auto st = p.send(h2::repeat(c.one, 2000));
    CHECK_FALSE(st.has_value());
    CHECK(p.server().failure() == c.want);
    auto out = p.link.take_server_output();  // GOAWAY(ENHANCE_YOUR_CALM) goes out
    CHECK(out.size() >= 17);
    CHECK(p.server().done());
  }
}

TEST_CASE("control frames at a steady, modest rate are not a flood") {
  RawPeer p;
  for (int i = 0; i < 300; ++i) {
    REQUIRE(p.send(h2::ping(static_cast<uint8_t>(i))).has_value());
    REQUIRE(p.send(h2::frame(h2::SETTINGS, 0, 0)).has_value());
    p.link.take_server_output();
    p.link.clock().advance(std::chrono::seconds(1));
  }
  CHECK(p.server().failure() == ConnectionFailure::None);
}

TEST_CASE("a flood of empty DATA frames closes the connection") {
  RawPeer p;
  REQUIRE(p.send(h2::connect_headers(1, "10.0.0.1:80")).has_value());
  REQUIRE(p.server().respond(1, 200).has_value());
  p.link.take_server_output();
  auto st = p.send(h2::repeat(h2::frame(h2::DATA, 0, 1), 1000));
  CHECK_FALSE(st.has_value());
  CHECK(p.server().failure() == ConnectionFailure::FloodEmptyData);
}

TEST_CASE("rapid reset: streams opened and reset in a burst close the connection") {
  RawPeer p;
  h2::Bytes burst;
  for (uint32_t id = 1; id < 2 * 1100; id += 2) {
    h2::append(burst, h2::connect_headers(id, "10.0.0.1:80"));
    h2::append(burst, h2::rst(id, 0x8));
  }
  auto st = p.send(burst);
  CHECK_FALSE(st.has_value());
  CHECK(p.server().failure() == ConnectionFailure::FloodResets);
}

TEST_CASE("an endless CONTINUATION chain closes the connection") {
  RawPeer p;
  h2::Bytes b = h2::frame(h2::HEADERS, 0, 1, h2::header_block({{":method", "CONNECT"}}));
  for (int i = 0; i < 50; ++i) h2::append(b, h2::frame(h2::CONTINUATION, 0, 1, h2::header_block({{"x", "y"}})));
  auto st = p.send(b);
  CHECK_FALSE(st.has_value());
  CHECK(p.server().failure() == ConnectionFailure::FloodContinuation);
}

TEST_CASE("streams beyond the advertised limit close the connection as too many streams") {
  auto opts = http::H2Options::server();
  opts.max_concurrent_streams = 4;
  HboneLink link(HboneLink::Mode::Plain, http::H2Options::client(), opts);
  REQUIRE(link.inject_to_server(h2::preface_and_settings()).has_value());
  link.take_server_output();
  REQUIRE(link.inject_to_server(h2::frame(h2::SETTINGS, h2::ACK, 0)).has_value());  // limit now in force
  h2::Bytes many;
  for (uint32_t id = 1; id <= 11; id += 2) h2::append(many, h2::connect_headers(id, "10.0.0.1:80"));
  (void)link.inject_to_server(many);
  link.take_server_output();
  CHECK(link.server->failure() == ConnectionFailure::TooManyStreams);
}

TEST_CASE("a frame larger than our maximum frame size fails the connection") {
  auto opts = http::H2Options::server();
  opts.max_frame_size = 16384;
  HboneLink link(HboneLink::Mode::Plain, http::H2Options::client(), opts);
  REQUIRE(link.inject_to_server(h2::preface_and_settings()).has_value());
  REQUIRE(link.inject_to_server(h2::frame(h2::SETTINGS, h2::ACK, 0)).has_value());
  REQUIRE(link.inject_to_server(h2::connect_headers(1, "10.0.0.1:80")).has_value());
  (void)link.inject_to_server(h2::frame(h2::DATA, 0, 1, h2::Bytes(20000, 0)));
  link.take_server_output();
  CHECK(link.server->failure() == ConnectionFailure::FrameSize);
}

TEST_CASE("malformed frames fail the connection with the matching reason") {
  struct Case {
    std::string name;
    h2::Bytes frame;
    ConnectionFailure want;
  };
  std::vector<Case> cases = {
      {"DATA on stream 0", h2::frame(h2::DATA, 0, 0, {1, 2, 3}), ConnectionFailure::ProtocolError},
      {"WINDOW_UPDATE of zero on the connection", h2::frame(h2::WINDOW_UPDATE, 0, 0, {0, 0, 0, 0}),
       ConnectionFailure::ProtocolError},
      {"SETTINGS with a bad length", h2::frame(h2::SETTINGS, 0, 0, {0, 1, 0}), ConnectionFailure::FrameSize},
      {"HEADERS on an even stream", h2::connect_headers(2, "10.0.0.1:80"), ConnectionFailure::ProtocolError},
      {"garbage HPACK", h2::frame(h2::HEADERS, h2::END_HEADERS, 1, {0xff, 0xff, 0xff, 0xff, 0xff}),
       ConnectionFailure::HeaderCompression},
  };
  for (const auto& c : cases) {
    CAPTURE(c.name);
    RawPeer p;
    (void)p.send(c.frame);
    p.link.take_server_output();
    CHECK(p.server().failure() == c.want);
    CHECK(p.server().done());
  }
}

TEST_CASE("a flooded connection does not affect another connection of the same process") {
  RawPeer bad;
  HboneLink good(HboneLink::Mode::Tls);
  hb::ConnectRequest r;
  r.authority = "10.0.0.9:80";
  auto id = good.client->open(r);
  REQUIRE(id.has_value());
  (void)bad.send(h2::repeat(h2::ping(1), 5000));
  CHECK(bad.server().failure() == ConnectionFailure::FloodPing);
  good.pump();
  REQUIRE(good.server->respond(*id, 200).has_value());
  good.client->write(*id, std::vector<uint8_t>(4096, 'k'));
  good.pump();
  CHECK(good.server->readable(*id) == 4096);
  CHECK(good.server->failure() == ConnectionFailure::None);
}

TEST_CASE("respond refuses unknown streams, a second answer and informational statuses") {
  HboneLink link = plain();
  hb::ConnectRequest r;
  r.authority = "10.0.0.1:80";
  auto id = link.client->open(r);
  link.pump();
  CHECK_FALSE(link.server->respond(999, 200).has_value());
  CHECK_FALSE(link.server->respond(*id, 100).has_value());
  CHECK(link.server->respond(*id, 200).has_value());
  CHECK_FALSE(link.server->respond(*id, 200).has_value());
}
