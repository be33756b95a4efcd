#include "tunnel/http/h1_message_parser.hpp"

#include <doctest/doctest.h>

using namespace mesh::tunnel::http;

TEST_CASE("a request split across many reads parses to the same message") {
  std::string wire = "POST /v1/reload?x=1 HTTP/1.1\r\nHost: meshd\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";
  MessageParser p(MessageParser::Kind::Request);
  for (char c : wire) {
    REQUIRE(p.state() == MessageParser::State::NeedMore);
    CHECK(p.feed(std::string_view(&c, 1)) == 1);
  }
  REQUIRE(p.state() == MessageParser::State::Complete);
  const Message& m = p.message();
  CHECK(m.method == "POST");
  CHECK(m.target == "/v1/reload?x=1");
  CHECK(m.body == "hello");
  REQUIRE(m.header("host"));
  CHECK(*m.header("HOST") == "meshd");
  CHECK(*m.header("x-a") == "b");
  CHECK(m.keep_alive);
}

TEST_CASE("pipelined requests are parsed one at a time") {
  std::string wire = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nConnection: close\r\n\r\n";
  MessageParser p(MessageParser::Kind::Request);
  size_t used = p.feed(wire);
  REQUIRE(p.state() == MessageParser::State::Complete);
  CHECK(p.message().target == "/a");
  p.reset();
  size_t used2 = p.feed(std::string_view(wire).substr(used));
  CHECK(used + used2 == wire.size());
  REQUIRE(p.state() == MessageParser::State::Complete);
  CHECK(p.message().target == "/b");
  CHECK_FALSE(p.message().keep_alive);
}

TEST_CASE("garbage is an error that asks for 400") {
  MessageParser p(MessageParser::Kind::Request);
  p.feed("\x16\x03\x01\x02\x00 not http at all\r\n\r\n");
  REQUIRE(p.state() == MessageParser::State::Error);
  CHECK(p.error_status() == 400);
  CHECK_FALSE(p.error_reason().empty());
}

TEST_CASE("an oversized header section asks for 431") {
  MessageParser p(MessageParser::Kind::Request, Limits{.max_header_bytes = 64});
  p.feed("GET / HTTP/1.1\r\nX-Long: " + std::string(100, 'a') + "\r\n\r\n");
  REQUIRE(p.state() == MessageParser::State::Error);
  CHECK(p.error_status() == 431);
}

TEST_CASE("too many headers asks for 431") {
  MessageParser p(MessageParser::Kind::Request, Limits{.max_headers = 3});
  p.feed("GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n\r\n");
  REQUIRE(p.state() == MessageParser::State::Error);
  CHECK(p.error_status() == 431);
}

TEST_CASE("a declared body over the limit asks for 413 before reading it") {
  MessageParser p(MessageParser::Kind::Request, Limits{.max_body_bytes = 10});
  p.feed("POST / HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n");
  REQUIRE(p.state() == MessageParser::State::Error);
  CHECK(p.error_status() == 413);
}

TEST_CASE("a chunked body over the limit asks for 413") {
  MessageParser p(MessageParser::Kind::Request, Limits{.max_body_bytes = 4});
  p.feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  REQUIRE(p.state() == MessageParser::State::Error);
  CHECK(p.error_status() == 413);
}

TEST_CASE("a response delimited by EOF completes on finish") {
  MessageParser p(MessageParser::Kind::Response);
  p.feed("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"ok\":true}");
  CHECK(p.state() == MessageParser::State::NeedMore);
  CHECK(p.finish() == MessageParser::State::Complete);
  CHECK(p.message().status == 200);
  CHECK(p.message().reason == "OK");
  CHECK(p.message().body == "{\"ok\":true}");
}

TEST_CASE("a truncated request fails on finish") {
  MessageParser p(MessageParser::Kind::Request);
  p.feed("GET / HTTP/1.1\r\nHost: x\r\n");
  CHECK(p.finish() == MessageParser::State::Error);
}

TEST_CASE("formatted responses parse back") {
  std::string wire = format_response(404, reason_phrase(404), {{"Content-Type", "application/json"}}, "{}", false);
  MessageParser p(MessageParser::Kind::Response);
  CHECK(p.feed(wire) == wire.size());
  REQUIRE(p.state() == MessageParser::State::Complete);
  CHECK(p.message().status == 404);
  CHECK(p.message().body == "{}");
  CHECK_FALSE(p.message().keep_alive);
}

TEST_CASE("header names come out in lower case, in order, in the shared header map") {
  std::string wire = "GET / HTTP/1.1\r\nHost: a\r\nX-Trace-Id: 7\r\nx-trace-id: 8\r\n\r\n";
  MessageParser p(MessageParser::Kind::Request);
  CHECK(p.feed(wire) == wire.size());
  REQUIRE(p.state() == MessageParser::State::Complete);
  const HeaderMap& h = p.message().headers;
  REQUIRE(h.size() == 3);
  CHECK(h[0] == Header{"host", "a"});
  CHECK(h[1] == Header{"x-trace-id", "7"});
  CHECK(h.get_all("X-Trace-Id") == std::vector<std::string_view>{"7", "8"});
}
