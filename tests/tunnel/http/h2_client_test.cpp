// H2Client for any method: stream limits, request bodies sent at once (unlike CONNECT's held
// body), header validation, and a gRPC-style exchange with trailers both ways.
#include "tunnel/http/h2_client.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "tests/support/h2_link.hpp"

using namespace mesh;
namespace h2 = mesh::tunnel::http;
using Link = mesh::testing::H2Link<>;
using h2::EventKind;

namespace {

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }
std::string text(const std::vector<uint8_t>& v) { return {v.begin(), v.end()}; }

// A gRPC message: compressed flag, 4-byte big-endian length, payload.
std::vector<uint8_t> grpc_frame(std::string_view payload) {
  std::vector<uint8_t> out(5 + payload.size(), 0);
  out[4] = static_cast<uint8_t>(payload.size());
  std::copy(payload.begin(), payload.end(), out.begin() + 5);
  return out;
}

h2::RequestHead grpc_call(std::string method) {
  h2::RequestHead r{.method = "POST", .scheme = "http", .authority = "greeter.demo:50051",
                    .path = "/helloworld.Greeter/" + std::move(method)};
  r.headers.add("content-type", "application/grpc");
  r.headers.add("te", "trailers");
  return r;
}

}  // namespace

TEST_CASE("a gRPC unary call: request body, response body and grpc-status trailers") {
  Link link;
  auto id = link.client->open(grpc_call("SayHello"), false);
  REQUIRE(id.has_value());
  link.client->write(*id, grpc_frame("world"));
  link.client->close_write(*id);
  link.pump();

  const h2::RequestHead* req = link.server->request(*id);
  REQUIRE(req != nullptr);
  CHECK(req->path == "/helloworld.Greeter/SayHello");
  CHECK(*req->headers.get("te") == "trailers");
  REQUIRE(link.count(link.server_events, EventKind::PeerEnd, *id) == 1);
  CHECK(Link::read_all(*link.server, *id) == grpc_frame("world"));

  h2::ResponseHead head{.status = 200};
  head.headers.add("content-type", "application/grpc");
  REQUIRE(link.server->respond(*id, head, false).has_value());
  link.server->write(*id, grpc_frame("hello world"));
  REQUIRE(link.server->close_write(*id, {{"grpc-status", "0"}, {"grpc-message", ""}}).has_value());
  link.pump();

  CHECK(link.last(link.client_events, EventKind::Response)->code == 200);
  REQUIRE(link.count(link.client_events, EventKind::PeerEnd, *id) == 1);
  CHECK(Link::read_all(*link.client, *id) == grpc_frame("hello world"));
  const h2::HeaderMap* t = link.client->trailers(*id);
  REQUIRE(t != nullptr);
  CHECK(*t->get("grpc-status") == "0");
  CHECK(t->has("grpc-message"));
  CHECK(link.count(link.client_events, EventKind::Closed, *id) == 1);
  CHECK(link.last(link.client_events, EventKind::Closed)->code == 0);
}

TEST_CASE("a gRPC error can come as a trailers-only response, and client trailers reach the server") {
  Link link;
  auto id = link.client->open(grpc_call("Fail"), false);
  link.client->write(*id, grpc_frame("x"));
  REQUIRE(link.client->close_write(*id, {{"x-client-trailer", "1"}}).has_value());
  link.pump();
  REQUIRE(link.server->trailers(*id) != nullptr);
  CHECK(*link.server->trailers(*id)->get("x-client-trailer") == "1");
  h2::ResponseHead only{.status = 200};
  only.headers.add("content-type", "application/grpc");
  only.headers.add("grpc-status", "14");
  only.headers.add("grpc-message", "unavailable");
  REQUIRE(link.server->respond(*id, only, true).has_value());
  link.pump();
  const h2::ResponseHead* r = link.client->response(*id);
  REQUIRE(r != nullptr);
  CHECK(*r->headers.get("grpc-status") == "14");
  CHECK(link.count(link.client_events, EventKind::PeerEnd, *id) == 1);
  CHECK(link.client->readable(*id) == 0);
}

TEST_CASE("a request body flows before any response, unlike a CONNECT tunnel's") {
  Link link;
  h2::RequestHead put{.method = "PUT", .scheme = "https", .authority = "store:443", .path = "/obj"};
  auto id = link.client->open(put, false);
  link.client->write(*id, bytes("early bytes"));
  link.pump();
  CHECK(link.client->response(*id) == nullptr);
  CHECK(link.client->send_buffered(*id) == 0);
  CHECK(text(Link::read_all(*link.server, *id)) == "early bytes");
  CHECK_FALSE(link.server->peer_ended(*id));
}

TEST_CASE("a GET opened with end_stream cannot carry a body") {
  Link link;
  auto id = link.client->open(h2::RequestHead{.method = "GET", .scheme = "https", .authority = "a", .path = "/"}, true);
  REQUIRE(id.has_value());
  CHECK_FALSE(link.client->write(*id, bytes("x")));
  link.pump();
  CHECK(link.server->peer_ended(*id));
  CHECK(link.server->readable(*id) == 0);
}

TEST_CASE("open respects the stream limit and refuses invalid headers") {
  auto opts = h2::H2Options::client();
  opts.max_concurrent_streams = 2;
  Link link(opts);
  link.pump();
  h2::RequestHead r{.method = "GET", .scheme = "https", .authority = "a", .path = "/"};
  CHECK(link.client->available_streams() == 2);
  REQUIRE(link.client->open(r, true).has_value());
  REQUIRE(link.client->open(r, true).has_value());
  CHECK(link.client->available_streams() == 0);
  auto third = link.client->open(r, true);
  REQUIRE_FALSE(third.has_value());
  CHECK(third.error().code() == base::Errc::Limit);

  Link fresh;
  h2::RequestHead bad = r;
  bad.headers.add("x-bad", "a\r\nb");
  auto refused = fresh.client->open(bad, true);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code() == base::Errc::Invalid);
  CHECK(fresh.client->open_streams() == 0);
}

TEST_CASE("response(id) is null until the final head and for unknown streams") {
  Link link;
  auto id = link.client->open(h2::RequestHead{.method = "HEAD", .scheme = "https", .authority = "a", .path = "/"}, true);
  CHECK(link.client->response(*id) == nullptr);
  CHECK(link.client->response(*id + 2) == nullptr);
  link.pump();
  h2::ResponseHead head{.status = 204};
  head.headers.add("X-Upper", "folded");
  REQUIRE(link.server->respond(*id, head, true).has_value());
  link.pump();
  REQUIRE(link.client->response(*id) != nullptr);
  CHECK(link.client->response(*id)->status == 204);
  CHECK(link.client->response(*id)->headers[0].name == "x-upper");
}
