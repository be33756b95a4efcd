#include "tunnel/http/h1_encoder.hpp"

#include <doctest/doctest.h>

#include "tests/tunnel/http/h1_recorder.hpp"

using namespace mesh::tunnel::http;
using namespace mesh::tunnel::http::test;

namespace {

RequestHead request(std::string method, std::string path, HeaderMap headers = {}) {
  RequestHead h;
  h.method = std::move(method);
  h.authority = "svc.example";
  h.path = std::move(path);
  h.version = Version::Http2;
  h.headers = std::move(headers);
  return h;
}

ResponseHead response(int status, HeaderMap headers = {}) {
  ResponseHead h;
  h.status = status;
  h.version = Version::Http2;
  h.headers = std::move(headers);
  return h;
}

std::string encode_request(const RequestHead& head, H1EncodeOptions options, std::string_view body = {},
                           const Trailers* trailers = nullptr) {
  H1Encoder e;
  std::string out;
  REQUIRE(e.start_request(head, options, out));
  e.body(body, out);
  REQUIRE(e.finish(trailers, out));
  return out;
}

std::string encode_response(const ResponseHead& head, std::string_view method, Version peer, H1EncodeOptions options,
                            std::string_view body = {}) {
  H1Encoder e;
  std::string out;
  REQUIRE(e.start_response(head, method, peer, options, out));
  e.body(body, out);
  REQUIRE(e.finish(nullptr, out));
  return out;
}

}  // namespace

TEST_CASE("request framing: content-length when known, else chunked; none for a bodiless GET") {
  HeaderMap h{{"x-a", "1"}, {"Content-Length", "999"}, {"transfer-encoding", "gzip"}, {"host", "other"}};
  CHECK(encode_request(request("POST", "/p", h), {.content_length = 2}, "hi") ==
        "POST /p HTTP/1.1\r\nhost: svc.example\r\nx-a: 1\r\ncontent-length: 2\r\n\r\nhi");
  CHECK(encode_request(request("POST", "/p"), {}, "hello") ==
        "POST /p HTTP/1.1\r\nhost: svc.example\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  CHECK(encode_request(request("GET", "/"), {.end_stream = true}) == "GET / HTTP/1.1\r\nhost: svc.example\r\n\r\n");
  CHECK(encode_request(request("POST", "/"), {.end_stream = true}) ==
        "POST / HTTP/1.1\r\nhost: svc.example\r\ncontent-length: 0\r\n\r\n");
  CHECK(encode_request(request("GET", ""), {.end_stream = true, .keep_alive = false}) ==
        "GET / HTTP/1.1\r\nhost: svc.example\r\nconnection: close\r\n\r\n");
  RequestHead connect = request("CONNECT", "");
  connect.authority = "db:5432";
  CHECK(encode_request(connect, {}) == "CONNECT db:5432 HTTP/1.1\r\nhost: db:5432\r\n\r\n");
}

TEST_CASE("trailers go out only with chunked framing") {
  Trailers t{{"grpc-status", "0"}};
  CHECK(encode_request(request("POST", "/g"), {}, "ab", &t) ==
        "POST /g HTTP/1.1\r\nhost: svc.example\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n0\r\ngrpc-status: 0\r\n\r\n");
  CHECK(encode_request(request("POST", "/g"), {.content_length = 2}, "ab", &t) ==
        "POST /g HTTP/1.1\r\nhost: svc.example\r\ncontent-length: 2\r\n\r\nab");
}

TEST_CASE("response framing follows the status, the request method and the client's version") {
  struct Case {
    const char* name;
    int status;
    const char* method;
    Version peer;
    H1EncodeOptions options;
    const char* body;
    const char* wire;
    H1BodyFraming framing;
    bool close_after;
  };
  const Version v11 = Version::Http11;
  const Version v10 = Version::Http10;
  const Case cases[] = {
      {"known length", 200, "GET", v11, {.content_length = 2}, "ok", "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
       H1BodyFraming::ContentLength, false},
      {"unknown length on 1.1", 200, "GET", v11, {}, "ok",
       "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", H1BodyFraming::Chunked, false},
      {"unknown length to a 1.0 client", 200, "GET", v10, {}, "ok", "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nok",
       H1BodyFraming::UntilClose, true},
      {"known length to a 1.0 client", 200, "GET", v10, {.content_length = 2}, "ok",
       "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok", H1BodyFraming::ContentLength, false},
      {"empty", 200, "GET", v11, {.end_stream = true}, "", "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
       H1BodyFraming::ContentLength, false},
      {"close asked", 404, "GET", v11, {.end_stream = true, .keep_alive = false}, "",
       "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n", H1BodyFraming::ContentLength, true},
      {"204", 204, "DELETE", v11, {.end_stream = true}, "", "HTTP/1.1 204 No Content\r\n\r\n", H1BodyFraming::None, false},
      {"304", 304, "GET", v11, {.content_length = 9}, "", "HTTP/1.1 304 Not Modified\r\n\r\n", H1BodyFraming::None, false},
      {"HEAD keeps the length, sends no body", 200, "HEAD", v11, {.content_length = 9}, "ignored",
       "HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n", H1BodyFraming::None, false},
      {"100", 100, "POST", v11, {}, "", "HTTP/1.1 100 Continue\r\n\r\n", H1BodyFraming::None, false},
      {"CONNECT 200", 200, "CONNECT", v11, {}, "", "HTTP/1.1 200 OK\r\n\r\n", H1BodyFraming::None, false},
  };
  for (const Case& c : cases) {
    std::string name = c.name;
    CAPTURE(name);
    H1Encoder e;
    std::string out;
    REQUIRE(e.start_response(response(c.status), c.method, c.peer, c.options, out));
    e.body(c.body, out);
    REQUIRE(e.finish(nullptr, out));
    CHECK(out == c.wire);
    CHECK(e.framing() == c.framing);
    CHECK(e.close_after() == c.close_after);
  }
}

TEST_CASE("CR, LF or NUL in a field, or no authority, is refused and nothing is written") {
  H1Encoder e;
  std::string out = "kept";
  CHECK_FALSE(e.start_request(request("GET", "/", {{"x", "a\r\nInjected: 1"}}), {}, out));
  CHECK_FALSE(e.start_response(response(200, {{"x\n", "a"}}), "GET", Version::Http11, {}, out));
  CHECK_FALSE(e.start_response(response(200, {{"x", std::string("a\0b", 3)}}), "GET", Version::Http11, {}, out));
  CHECK_FALSE(e.start_request(request("GET", "/a b"), {}, out));
  RequestHead no_authority = request("GET", "/");
  no_authority.authority.clear();
  CHECK_FALSE(e.start_request(no_authority, {}, out));
  CHECK_FALSE(e.start_response(response(2000), "GET", Version::Http11, {}, out));
  CHECK(out == "kept");
}

TEST_CASE("encoded messages decode back to the same heads, bodies and trailers") {
  RequestHead head = request("PUT", "/obj?v=2", {{"x-trace", "abc"}, {"content-type", "text/plain"}});
  Trailers t{{"x-sum", "42"}};
  std::string wire = encode_request(head, {}, "payload", &t) + encode_request(request("GET", "/2"), {.end_stream = true});
  Recorder r;
  H1RequestDecoder d(r);
  Run run = drive(d, r, bytes(wire));
  CHECK(run.error == H1Error::None);
  REQUIRE(r.requests.size() == 2);
  CHECK(r.requests[0].method == "PUT");
  CHECK(r.requests[0].authority == "svc.example");
  CHECK(r.requests[0].path == "/obj?v=2");
  CHECK(*r.requests[0].headers.get("x-trace") == "abc");
  CHECK(r.body == "payload");
  CHECK(run.log.find("trailers x-sum=42") != std::string::npos);
  CHECK(r.requests[1].path == "/2");

  std::string resp = encode_response(response(201, {{"etag", "\"1\""}}), "PUT", Version::Http11, {.content_length = 3}, "new");
  Recorder rr;
  H1ResponseDecoder rd(rr);
  rd.expect("PUT");
  Run rrun = drive(rd, rr, whole(resp));
  CHECK(rrun.error == H1Error::None);
  REQUIRE(rr.responses.size() == 1);
  CHECK(rr.responses[0].status == 201);
  CHECK(*rr.responses[0].headers.get("etag") == "\"1\"");
  CHECK(rr.body == "new");
}

TEST_CASE("hop-by-hop fields are stripped, with the names Connection lists") {
  struct Case {
    const char* name;
    HeaderMap in;
    bool keep_upgrade;
    HeaderMap out;
    size_t removed;
  };
  const Case cases[] = {
      {"the fixed set",
       {{"connection", "keep-alive"}, {"keep-alive", "timeout=5"}, {"proxy-connection", "x"},
        {"transfer-encoding", "chunked"}, {"upgrade", "websocket"}, {"te", "gzip"}, {"x-a", "1"}},
       false,
       {{"x-a", "1"}},
       6},
      {"names listed in Connection", {{"Connection", "close, X-Secret ,x-other"}, {"x-secret", "s"}, {"x-other", "o"}, {"x-a", "1"}},
       false, {{"x-a", "1"}}, 3},
      {"te: trailers survives", {{"te", "trailers, deflate;q=0.5"}, {"x-a", "1"}}, false, {{"x-a", "1"}, {"te", "trailers"}}, 0},
      {"an upgrade is kept when asked",
       {{"connection", "Upgrade, keep-alive"}, {"upgrade", "websocket"}, {"keep-alive", "1"}, {"sec-websocket-key", "k"}},
       true,
       {{"upgrade", "websocket"}, {"sec-websocket-key", "k"}, {"connection", "upgrade"}},
       2},
      {"end-to-end fields stay", {{"content-length", "3"}, {"host", "a"}, {"x-a", "1"}}, false,
       {{"content-length", "3"}, {"host", "a"}, {"x-a", "1"}}, 0},
  };
  for (const Case& c : cases) {
    std::string name = c.name;
    CAPTURE(name);
    HeaderMap h = c.in;
    size_t removed = strip_hop_by_hop(h, c.keep_upgrade);
    CHECK(describe(h) == describe(c.out));
    CHECK(removed == c.removed);
  }
}
