// HboneClient against our HboneServer over an in-memory TLS 1.3 session pair.
#include "tunnel/hbone/hbone_client.hpp"

#include <doctest/doctest.h>

#include <random>

#include "tests/support/hbone_link.hpp"

using namespace mesh;
using mesh::testing::HboneLink;
namespace hb = mesh::tunnel::hbone;
namespace http = mesh::tunnel::http;
using http::EventKind;

namespace {

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

hb::ConnectRequest connect_to(std::string authority) {
  hb::ConnectRequest r;
  r.authority = std::move(authority);
  return r;
}

// Opens a stream and has the server answer `status`.
http::StreamId open_and_answer(HboneLink& link, int status, std::string authority = "10.0.0.2:8080") {
  auto id = link.client->open(connect_to(std::move(authority)));
  REQUIRE(id.has_value());
  link.pump();
  auto req = link.last(link.server_events, EventKind::Request);
  REQUIRE(req.has_value());
  REQUIRE(req->stream == *id);  // both sides agree on stream ids
  REQUIRE(link.server->respond(*id, status).has_value());
  link.pump();
  return *id;
}

}  // namespace

TEST_CASE("a CONNECT carries authority and trace headers and the 200 opens the tunnel") {
  HboneLink link;
  hb::ConnectRequest r = connect_to("10.0.0.2:8080");
  r.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
  r.baggage = "k8s.namespace.name=default,k8s.deployment.name=ratings";
  r.forwarded = "for=\"10.0.0.1:4567\"";
  auto id = link.client->open(r);
  REQUIRE(id.has_value());
  link.pump();
  REQUIRE(link.count(link.server_events, EventKind::Request, *id) == 1);
  const hb::ConnectRequest* got = link.server->request(*id);
  REQUIRE(got != nullptr);
  CHECK(got->authority == "10.0.0.2:8080");
  REQUIRE(got->target.has_value());
  CHECK(got->target->to_string() == "10.0.0.2:8080");
  CHECK(got->traceparent == r.traceparent);
  CHECK(got->baggage == r.baggage);
  CHECK(got->forwarded == r.forwarded);
  CHECK(link.client->status(*id) == 0);
  REQUIRE(link.server->respond(*id, 200, {{"baggage", "k8s.namespace.name=dst"}}).has_value());
  link.pump();
  auto resp = link.last(link.client_events, EventKind::Response);
  REQUIRE(resp.has_value());
  CHECK(resp->code == 200);
  CHECK(link.client->status(*id) == 200);
  REQUIRE(link.client->response_headers(*id) != nullptr);
  CHECK(link.client->response_headers(*id)->entries().at(0).value == "k8s.namespace.name=dst");
}

TEST_CASE("bytes cross the tunnel both ways byte-exact") {
  HboneLink link;
  auto id = open_and_answer(link, 200);
  auto up = random_bytes(3 << 20, 11);
  auto down = random_bytes(2 << 20, 12);
  std::vector<uint8_t> got_up, got_down;
  size_t up_off = 0, down_off = 0;
  std::mt19937 rng(5);
  for (int round = 0; round < 10000 && (got_up.size() < up.size() || got_down.size() < down.size()); ++round) {
    size_t n = std::min<size_t>(rng() % 200000 + 1, up.size() - up_off);
    if (n > 0 && link.client->send_buffered(id) < (1 << 20)) {
      link.client->write(id, {up.data() + up_off, n});
      up_off += n;
    }
    n = std::min<size_t>(rng() % 200000 + 1, down.size() - down_off);
    if (n > 0 && link.server->send_buffered(id) < (1 << 20)) {
      link.server->write(id, {down.data() + down_off, n});
      down_off += n;
    }
    link.pump();
    auto a = HboneLink::read_all(*link.server, id);
    got_up.insert(got_up.end(), a.begin(), a.end());
    auto b = HboneLink::read_all(*link.client, id);
    got_down.insert(got_down.end(), b.begin(), b.end());
  }
  CHECK(got_up == up);
  CHECK(got_down == down);
}

TEST_CASE("bytes written before the 200 are held and delivered after it") {
  HboneLink link;
  auto id = link.client->open(connect_to("10.0.0.2:80"));
  REQUIRE(id.has_value());
  std::string early = "GET / HTTP/1.1\r\n\r\n";
  link.client->write(*id, {reinterpret_cast<const uint8_t*>(early.data()), early.size()});
  link.pump();
  CHECK(link.server->readable(*id) == 0);
  CHECK(link.client->send_buffered(*id) == early.size());
  REQUIRE(link.server->respond(*id, 200).has_value());
  link.pump();
  auto got = HboneLink::read_all(*link.server, *id);
  CHECK(std::string(got.begin(), got.end()) == early);
}

TEST_CASE("half-close travels as END_STREAM and the other direction keeps flowing") {
  HboneLink link;
  auto id = open_and_answer(link, 200);
  link.client->write(id, std::vector<uint8_t>(1000, 'a'));
  link.client->close_write(id);
  link.pump();
  CHECK(link.count(link.server_events, EventKind::PeerEnd, id) == 1);
  CHECK(link.server->peer_ended(id));
  CHECK(HboneLink::read_all(*link.server, id).size() == 1000);
  CHECK(link.client->write(id, std::vector<uint8_t>(5, 'x')) == false);  // nothing after END_STREAM
  link.server->write(id, std::vector<uint8_t>(700, 'b'));
  link.pump();
  CHECK(HboneLink::read_all(*link.client, id).size() == 700);
  CHECK(link.count(link.client_events, EventKind::Closed, id) == 0);
  link.server->close_write(id);
  link.pump();
  CHECK(link.count(link.client_events, EventKind::PeerEnd, id) == 1);
  auto closed = link.last(link.client_events, EventKind::Closed);
  REQUIRE(closed.has_value());
  CHECK(closed->code == 0);
  CHECK(link.count(link.server_events, EventKind::Closed, id) == 1);
  link.client->release(id);
  link.server->release(id);
  CHECK(link.client->open_streams() == 0);
  CHECK(link.server->open_streams() == 0);
}

TEST_CASE("a reset travels as RST_STREAM with its error code") {
  HboneLink link;
  auto id = open_and_answer(link, 200);
  link.client->reset(id, 0x8 /* CANCEL */);
  link.pump();
  auto closed = link.last(link.server_events, EventKind::Closed);
  REQUIRE(closed.has_value());
  CHECK(closed->stream == id);
  CHECK(closed->code == 0x8);
}

TEST_CASE("error statuses reach the client and end the stream") {
  for (int status : {400, 401, 403, 503}) {
    HboneLink link;
    auto id = open_and_answer(link, status);
    auto resp = link.last(link.client_events, EventKind::Response);
    REQUIRE(resp.has_value());
    CHECK(resp->code == static_cast<uint32_t>(status));
    CHECK(link.count(link.client_events, EventKind::Closed, id) == 1);
    CHECK(link.client->write(id, std::vector<uint8_t>(3, 'x')) == false);
    link.client->release(id);
    CHECK(link.client->open_streams() == 0);
  }
}

TEST_CASE("a client opens at most 100 streams per connection and fewer if the server says so") {
  SUBCASE("our limit") {
    HboneLink link;
    link.pump();
    CHECK(link.client->available_streams() == 100);
    for (int i = 0; i < 100; ++i) REQUIRE(link.client->open(connect_to("10.0.0.2:80")).has_value());
    CHECK(link.client->available_streams() == 0);
    auto more = link.client->open(connect_to("10.0.0.2:80"));
    REQUIRE_FALSE(more.has_value());
    CHECK(more.error().code() == base::Errc::Limit);
    link.pump();
    CHECK(link.count(link.server_events, EventKind::Request) == 100);
  }
  SUBCASE("the server's SETTINGS_MAX_CONCURRENT_STREAMS") {
    auto server_opts = http::H2Options::server();
    server_opts.max_concurrent_streams = 5;
    HboneLink link(HboneLink::Mode::Tls, http::H2Options::client(), server_opts);
    link.pump();
    CHECK(link.client->available_streams() == 5);
  }
}

TEST_CASE("a finished stream frees its slot for a new one") {
  HboneLink link;
  link.pump();
  auto id = open_and_answer(link, 503);
  link.client->release(id);
  link.server->release(id);
  CHECK(link.client->available_streams() == 100);
}

TEST_CASE("open refuses headers nghttp2 would not send") {
  HboneLink link;
  hb::ConnectRequest r = connect_to("10.0.0.2:80");
  r.traceparent = "bad\r\nvalue";
  auto id = link.client->open(r);
  REQUIRE_FALSE(id.has_value());
  CHECK(id.error().code() == base::Errc::Invalid);
}
