// H2Server for any method: request heads as RequestHead, bodies both ways, response and
// request trailers, and the rules respond() enforces.
#include "tunnel/http/h2_server.hpp"

#include <doctest/doctest.h>

#include <string>

#include "tests/support/h2_link.hpp"

using namespace mesh;
namespace h2 = mesh::tunnel::http;
using Link = mesh::testing::H2Link<>;
using h2::EventKind;

namespace {

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }
std::string text(const std::vector<uint8_t>& v) { return {v.begin(), v.end()}; }

h2::RequestHead get(std::string path) {
  h2::RequestHead r{.method = "GET", .scheme = "https", .authority = "reviews.shop:9080", .path = std::move(path)};
  r.headers.add("accept", "application/json");
  return r;
}

}  // namespace

TEST_CASE("a GET arrives as a request head and is answered with a streamed body") {
  Link link;
  auto id = link.client->open(get("/reviews/1"), true);
  REQUIRE(id.has_value());
  link.pump();
  REQUIRE(link.count(link.server_events, EventKind::Request, *id) == 1);
  CHECK(link.count(link.server_events, EventKind::PeerEnd, *id) == 1);
  const h2::RequestHead* r = link.server->request(*id);
  REQUIRE(r != nullptr);
  CHECK(r->method == "GET");
  CHECK(r->scheme == "https");
  CHECK(r->authority == "reviews.shop:9080");
  CHECK(r->path == "/reviews/1");
  CHECK(r->version == h2::Version::Http2);
  REQUIRE(r->headers.size() == 1);  // pseudo-headers are fields, not entries
  CHECK(*r->headers.get("Accept") == "application/json");
  CHECK(link.server->trailers(*id) == nullptr);

  h2::ResponseHead head{.status = 200};
  head.headers.add("content-type", "application/json");
  REQUIRE(link.server->respond(*id, head, false).has_value());
  CHECK(link.server->write(*id, bytes("{\"stars\":")));
  CHECK(link.server->write(*id, bytes("5}")));
  link.server->close_write(*id);
  link.pump();
  REQUIRE(link.count(link.client_events, EventKind::Response, *id) == 1);
  CHECK(link.last(link.client_events, EventKind::Response)->code == 200);
  const h2::ResponseHead* resp = link.client->response(*id);
  REQUIRE(resp != nullptr);
  CHECK(resp->status == 200);
  CHECK(*resp->headers.get("content-type") == "application/json");
  CHECK(link.count(link.client_events, EventKind::PeerEnd, *id) == 1);
  CHECK(text(Link::read_all(*link.client, *id)) == "{\"stars\":5}");
  CHECK(link.client->trailers(*id) == nullptr);
  CHECK(link.count(link.client_events, EventKind::Closed, *id) == 1);
  CHECK(link.count(link.server_events, EventKind::Closed, *id) == 1);
  link.client->release(*id);
  link.server->release(*id);
  link.pump();
  CHECK(link.client->open_streams() == 0);
  CHECK(link.server->open_streams() == 0);
}

TEST_CASE("a POST body reaches the server before it answers, and its end is PeerEnd") {
  Link link;
  h2::RequestHead post{.method = "POST", .scheme = "http", .authority = "ratings:80", .path = "/ratings"};
  post.headers.add("content-type", "text/plain");
  auto id = link.client->open(post, false);
  REQUIRE(id.has_value());
  CHECK(link.client->write(*id, bytes("five stars")));
  link.client->close_write(*id);
  CHECK_FALSE(link.client->write(*id, bytes("more")));  // closed for writing
  link.pump();
  CHECK(link.server->request(*id)->method == "POST");
  CHECK(link.count(link.server_events, EventKind::Data, *id) == 1);
  CHECK(link.count(link.server_events, EventKind::PeerEnd, *id) == 1);
  CHECK(text(Link::read_all(*link.server, *id)) == "five stars");
  REQUIRE(link.server->respond(*id, h2::ResponseHead{.status = 201}, true).has_value());
  link.pump();
  CHECK(link.last(link.client_events, EventKind::Response)->code == 201);
  CHECK(link.count(link.client_events, EventKind::PeerEnd, *id) == 1);
  CHECK(link.client->readable(*id) == 0);
  CHECK(link.server->failure() == h2::ConnectionFailure::None);
}

TEST_CASE("response trailers follow the body and are readable once PeerEnd arrives") {
  Link link;
  auto id = link.client->open(get("/stream"), true);
  link.pump();
  REQUIRE(link.server->respond(*id, h2::ResponseHead{.status = 200}, false).has_value());
  link.server->write(*id, bytes("part"));
  link.pump();
  CHECK(link.client->trailers(*id) == nullptr);  // not before PeerEnd
  REQUIRE(link.server->close_write(*id, {{"x-checksum", "c0ffee"}, {"x-count", "1"}}).has_value());
  link.pump();
  REQUIRE(link.count(link.client_events, EventKind::PeerEnd, *id) == 1);
  const h2::HeaderMap* t = link.client->trailers(*id);
  REQUIRE(t != nullptr);
  CHECK(t->size() == 2);
  CHECK(*t->get("x-checksum") == "c0ffee");
  CHECK(text(Link::read_all(*link.client, *id)) == "part");
  // The trailers are not mixed into the response head.
  CHECK_FALSE(link.client->response(*id)->headers.has("x-checksum"));
}

TEST_CASE("request trailers reach the server after the request body") {
  Link link;
  h2::RequestHead post{.method = "POST", .scheme = "https", .authority = "a:1", .path = "/upload"};
  auto id = link.client->open(post, false);
  link.client->write(*id, bytes("payload"));
  REQUIRE(link.client->close_write(*id, {{"x-digest", "sha-256=abc"}}).has_value());
  link.pump();
  REQUIRE(link.count(link.server_events, EventKind::PeerEnd, *id) == 1);
  REQUIRE(link.server->trailers(*id) != nullptr);
  CHECK(*link.server->trailers(*id)->get("x-digest") == "sha-256=abc");
  CHECK_FALSE(link.server->request(*id)->headers.has("x-digest"));
  CHECK(text(Link::read_all(*link.server, *id)) == "payload");
}

TEST_CASE("trailers with a pseudo-header are refused and the stream stays open for writing") {
  Link link;
  auto id = link.client->open(get("/"), true);
  link.pump();
  REQUIRE(link.server->respond(*id, h2::ResponseHead{.status = 200}, false).has_value());
  auto bad = link.server->close_write(*id, {{":status", "500"}});
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code() == base::Errc::Invalid);
  CHECK(link.server->write(*id, bytes("ok")));
  link.server->close_write(*id);
  link.pump();
  CHECK(link.count(link.client_events, EventKind::PeerEnd, *id) == 1);
  CHECK(text(Link::read_all(*link.client, *id)) == "ok");
  CHECK_FALSE(link.server->close_write(*id, {{"x", "y"}}).has_value());  // already closed
}

TEST_CASE("respond answers once, with a final status, on a known stream") {
  Link link;
  auto id = link.client->open(get("/"), true);
  link.pump();
  CHECK(link.server->respond(*id + 2, h2::ResponseHead{.status = 200}, true).error().code() == base::Errc::NotFound);
  CHECK(link.server->respond(*id, h2::ResponseHead{.status = 99}, true).error().code() == base::Errc::Invalid);
  CHECK(link.server->respond(*id, h2::ResponseHead{.status = 600}, true).error().code() == base::Errc::Invalid);
  h2::ResponseHead bad{.status = 200};
  bad.headers.add("x-bad", "line\nbreak");
  bad.headers.add("x-nul", std::string_view("a\0b", 3));
  CHECK_FALSE(link.server->respond(*id, bad, true).has_value());
  REQUIRE(link.server->respond(*id, h2::ResponseHead{.status = 404}, true).has_value());
  CHECK(link.server->respond(*id, h2::ResponseHead{.status = 200}, true).error().code() == base::Errc::Invalid);
  link.pump();
  CHECK(link.last(link.client_events, EventKind::Response)->code == 404);
}

TEST_CASE("a Host header stands in for a missing :authority") {
  Link link;
  h2::RequestHead r{.method = "GET", .scheme = "http", .path = "/"};
  r.headers.add("host", "legacy.example:8080");
  auto id = link.client->open(r, true);
  REQUIRE(id.has_value());
  link.pump();
  REQUIRE(link.server->request(*id) != nullptr);
  CHECK(link.server->request(*id)->authority == "legacy.example:8080");
}

TEST_CASE("the server accepts CONNECT like any other method: vetting it is a profile's job") {
  Link link;
  auto id = link.client->open(h2::RequestHead{.method = "CONNECT", .authority = "10.0.0.1:80"}, false);
  link.pump();
  REQUIRE(link.server->request(*id) != nullptr);
  CHECK(link.server->request(*id)->method == "CONNECT");
  CHECK(link.server->request(*id)->path.empty());
  CHECK(link.count(link.server_events, EventKind::StreamRejected) == 0);
}

TEST_CASE("request trailers have a header-list budget of their own, and going over it resets the stream") {
  auto sopts = h2::H2Options::server();
  sopts.max_header_list = 1024;
  Link link(h2::H2Options::client(), sopts);
  h2::RequestHead post{.method = "POST", .scheme = "https", .authority = "a:1", .path = "/"};
  post.headers.add("x-big", std::string(700, 'h'));
  auto id = link.client->open(post, false);
  REQUIRE(link.client->close_write(*id, {{"x-big-trailer", std::string(700, 't')}}).has_value());
  link.pump();
  REQUIRE(link.server->trailers(*id) != nullptr);  // 700 + 700 > 1024, but each block fits

  auto id2 = link.client->open(post, false);
  REQUIRE(link.client->close_write(*id2, {{"x-huge", std::string(2000, 't')}}).has_value());
  link.pump();
  CHECK(link.count(link.server_events, EventKind::Closed, *id2) == 1);
  CHECK(link.server->trailers(*id2) == nullptr);
  CHECK(link.server->failure() == h2::ConnectionFailure::None);
}
