// The response decoder's head rules (h1_codec_heads.cpp): which responses have a body, 1xx,
// 101 and CONNECT, keep-alive, and the error-reason table.
#include <doctest/doctest.h>

#include "tests/tunnel/http/h1_recorder.hpp"
#include "tunnel/http/h1_codec.hpp"

using namespace mesh::tunnel::http;
using namespace mesh::tunnel::http::test;

namespace {

struct Request {
  const char* method;
  bool upgrade;
};

Run responses(const std::vector<Request>& sent, const std::vector<std::string_view>& pieces, bool eof = false,
              H1DecoderOptions limits = {}) {
  Recorder r;
  H1ResponseDecoder d(r, limits);
  for (const Request& q : sent) d.expect(q.method, q.upgrade);
  return drive(d, r, pieces, eof);
}

struct Case {
  const char* name;
  std::vector<Request> sent;
  std::string wire;
  std::string log;
  H1DecoderState state = H1DecoderState::Parsing;
  std::string rest = "";
  bool eof = false;
};

}  // namespace

TEST_CASE("responses are framed by the request they answer, alike at every split") {
  const Case cases[] = {
      {"content-length", {{"GET", false}}, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
       "resp 200 HTTP/1.1 ka=1 cl=2 content-length=2\nbody:ok\ncomplete\npause\n"},
      {"HEAD has no body though Content-Length says 5, pipelined with GETs",
       {{"GET", false}, {"HEAD", false}, {"GET", false}},
       "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nbc\r\n0\r\nX-T: 1\r\n\r\n",
       "resp 200 HTTP/1.1 ka=1 cl=1 content-length=1\nbody:a\ncomplete\npause\n"
       "resp 200 HTTP/1.1 ka=1 none content-length=5\ncomplete\npause\n"
       "resp 200 HTTP/1.1 ka=1 chunked transfer-encoding=chunked\nbody:bc\ntrailers x-t=1\ncomplete\npause\n"},
      {"204 and 304 have no body", {{"GET", false}, {"GET", false}},
       "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
       "resp 204 HTTP/1.1 ka=1 none content-length=3\ncomplete\npause\n"
       "resp 304 HTTP/1.1 ka=1 none content-length=9\ncomplete\npause\n"},
      {"1xx are informational, the final response follows", {{"POST", false}},
       "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
       "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
       "info 100\ninfo 103 link=</s.css>\nresp 201 HTTP/1.1 ka=1 cl=0 content-length=0\ncomplete\npause\n"},
      {"101 to an upgrade request hands the rest back", {{"GET", true}},
       "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x02hi",
       "resp 101 HTTP/1.1 ka=1 upgrade=websocket none connection=Upgrade;upgrade=websocket\ncomplete\n",
       H1DecoderState::Upgraded, "\x81\x02hi"},
      {"2xx to CONNECT hands the rest back", {{"CONNECT", false}}, "HTTP/1.1 200 OK\r\n\r\ntunnel bytes",
       "resp 200 HTTP/1.1 ka=1 connect none\ncomplete\n", H1DecoderState::Upgraded, "tunnel bytes"},
      {"a refused CONNECT has a body", {{"CONNECT", false}}, "HTTP/1.1 407 Nope\r\nContent-Length: 1\r\n\r\nx",
       "resp 407 HTTP/1.1 ka=1 cl=1 content-length=1\nbody:x\ncomplete\npause\n"},
      {"close-delimited body ends at EOF", {{"GET", false}}, "HTTP/1.1 200 OK\r\n\r\nall of it",
       "resp 200 HTTP/1.1 ka=0 close\nbody:all of it\ncomplete\n", H1DecoderState::Closed, "", true},
      {"HTTP/1.0 closes after the response", {{"GET", false}},
       "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.0",
       "resp 200 HTTP/1.0 ka=0 cl=1 content-length=1\nbody:x\ncomplete\n", H1DecoderState::Closed, "HTTP/1.0"},
      {"Connection: close", {{"GET", false}, {"GET", false}},
       "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
       "resp 200 HTTP/1.1 ka=0 cl=0 connection=close;content-length=0\ncomplete\n", H1DecoderState::Closed},
  };
  for (const Case& c : cases) {
    std::string name = c.name;
    CAPTURE(name);
    Run expected = responses(c.sent, whole(c.wire), c.eof);
    CHECK(expected.log == c.log);
    CHECK(expected.state == c.state);
    CHECK(expected.rest == c.rest);
    CHECK(expected.error == H1Error::None);
    CHECK(responses(c.sent, bytes(c.wire), c.eof) == expected);
    for (size_t k = 1; k < c.wire.size(); ++k) {
      Run split = responses(c.sent, split_at(c.wire, k), c.eof);
      if (!(split == expected)) {
        CAPTURE(k);
        CHECK(split.log == expected.log);
      }
    }
  }
}

TEST_CASE("the response decoder pops one request per final response") {
  Recorder r;
  H1ResponseDecoder d(r);
  d.expect("GET");
  d.expect("GET");
  CHECK(d.outstanding() == 2);
  std::string wire = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  CHECK(d.feed(wire) == wire.size());
  CHECK(d.outstanding() == 1);
  CHECK(d.keep_alive());
}

TEST_CASE("malformed responses fail with their own reason") {
  struct Reject {
    const char* name;
    std::vector<Request> sent;
    std::string wire;
    H1Error error;
  };
  const Reject cases[] = {
      {"no request outstanding", {}, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", H1Error::UnexpectedResponse},
      {"101 nobody asked for", {{"GET", false}}, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
       H1Error::UnexpectedResponse},
      {"CL with TE", {{"GET", false}}, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
       H1Error::ContentLengthWithTransferEncoding},
      {"TE gzip", {{"GET", false}}, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nabc",
       H1Error::UnsupportedTransferEncoding},
      {"TE on HTTP/1.0", {{"GET", false}}, "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       H1Error::TransferEncodingOnHttp10},
      {"four-digit status", {{"GET", false}}, "HTTP/1.1 2000 OK\r\n\r\n", H1Error::InvalidStatus},
      {"RTSP status line", {{"GET", false}}, "RTSP/1.0 200 OK\r\n\r\n", H1Error::Malformed},
      {"obs-fold", {{"GET", false}}, "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n", H1Error::ObsFold},
      {"truncated body", {{"GET", false}}, "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", H1Error::TruncatedMessage},
  };
  for (const Reject& c : cases) {
    std::string name = c.name;
    CAPTURE(name);
    CHECK(to_string(responses(c.sent, whole(c.wire), true).error) == to_string(c.error));
    CHECK(to_string(responses(c.sent, bytes(c.wire), true).error) == to_string(c.error));
  }
}

TEST_CASE("response header limits apply, and trailers have their own") {
  H1DecoderOptions limits{.max_headers = 2};
  std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nA: 1\r\n\r\n0\r\nT1: 1\r\nT2: 2\r\n\r\n";
  CHECK(responses({{"GET", false}}, whole(wire), false, limits).error == H1Error::None);
  std::string three = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
  CHECK(responses({{"GET", false}}, whole(three), false, limits).error == H1Error::TooManyHeaders);
  std::string trailers = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT1: 1\r\nT2: 2\r\nT3: 3\r\n\r\n";
  CHECK(responses({{"GET", false}}, whole(trailers), false, limits).error == H1Error::TooManyHeaders);
}
