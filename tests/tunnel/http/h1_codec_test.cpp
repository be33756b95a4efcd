#include "tunnel/http/h1_codec.hpp"

#include <doctest/doctest.h>

#include "tests/tunnel/http/h1_recorder.hpp"

using namespace mesh::tunnel::http;
using namespace mesh::tunnel::http::test;

namespace {

Run requests(const std::vector<std::string_view>& pieces, H1DecoderOptions limits = {}, bool eof = false) {
  Recorder r;
  H1RequestDecoder d(r, limits);
  return drive(d, r, pieces, eof);
}

// The whole input, one byte at a time, and every split into two pieces decode alike.
void check_every_split(std::string_view wire, const Run& expected, H1DecoderOptions limits = {}, bool eof = false) {
  CHECK(requests(bytes(wire), limits, eof) == expected);
  for (size_t k = 1; k < wire.size(); ++k) {
    Run split = requests(split_at(wire, k), limits, eof);
    if (!(split == expected)) {
      CAPTURE(k);
      CHECK(split.log == expected.log);
      CHECK(split.rest == expected.rest);
      CHECK(split.error == expected.error);
    }
  }
}

struct Case {
  const char* name;
  std::string wire;
  std::string log;
  H1DecoderState state = H1DecoderState::Parsing;
  std::string rest = "";
};

}  // namespace

TEST_CASE("requests decode to the shared heads, alike at every split") {
  const Case cases[] = {
      {"origin-form GET", "GET /p?q=1 HTTP/1.1\r\nHost: a.example\r\nX-Id: 7\r\n\r\n",
       "req GET |a.example|/p?q=1 HTTP/1.1 ka=1 none x-id=7\ncomplete\npause\n"},
      {"empty values", "GET / HTTP/1.1\r\nHost: a\r\nX-E:\r\nX-W:   \r\nX-V: v\r\n\r\n",
       "req GET |a|/ HTTP/1.1 ka=1 none x-e=;x-w=;x-v=v\ncomplete\npause\n"},
      {"content-length body", "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
       "req POST |a|/u HTTP/1.1 ka=1 cl=5 content-length=5\nbody:hello\ncomplete\npause\n"},
      {"chunked body with trailers",
       "POST /g HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\n"
       "Grpc-Status: 0\r\nX-T: v  \r\n\r\n",
       "req POST |a|/g HTTP/1.1 ka=1 chunked transfer-encoding=chunked\nbody:abcde\n"
       "trailers grpc-status=0;x-t=v\ncomplete\npause\n"},
      {"pipelined GET, POST, chunked POST",
       "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nxy"
       "POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n",
       "req GET |a|/1 HTTP/1.1 ka=1 none\ncomplete\npause\n"
       "req POST |a|/2 HTTP/1.1 ka=1 cl=2 content-length=2\nbody:xy\ncomplete\npause\n"
       "req POST |a|/3 HTTP/1.1 ka=1 chunked transfer-encoding=chunked\nbody:z\ncomplete\npause\n"},
      {"HTTP/1.0 closes and may omit Host", "GET / HTTP/1.0\r\n\r\nGET /next HTTP/1.0\r\n\r\n",
       "req GET ||/ HTTP/1.0 ka=0 none\ncomplete\n", H1DecoderState::Closed, "GET /next HTTP/1.0\r\n\r\n"},
      {"HTTP/1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\nHost: a\r\n\r\n",
       "req GET |a|/ HTTP/1.0 ka=1 none connection=keep-alive\ncomplete\npause\n"},
      {"Connection: close stops after the message", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET /",
       "req GET |a|/ HTTP/1.1 ka=0 none connection=close\ncomplete\n", H1DecoderState::Closed, "GET /"},
      {"absolute-form as a proxy receives it", "GET HTTP://Example.com:8080/x?y HTTP/1.1\r\nHost: example.COM:8080\r\n\r\n",
       "req GET http|Example.com:8080|/x?y HTTP/1.1 ka=1 none\ncomplete\npause\n"},
      {"absolute-form sets the authority", "GET https://b.example?q HTTP/1.1\r\n\r\n",
       "req GET https|b.example|/?q HTTP/1.1 ka=1 none\ncomplete\npause\n"},
      {"asterisk-form", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", "req OPTIONS |a|* HTTP/1.1 ka=1 none\ncomplete\npause\n"},
      {"Expect: 100-continue is surfaced",
       "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx",
       "req PUT |a|/f HTTP/1.1 ka=1 expect cl=1 expect=100-Continue;content-length=1\nbody:x\ncomplete\npause\n"},
      {"an HTTP/1.0 expectation is ignored", "PUT /f HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
       "req PUT ||/f HTTP/1.0 ka=0 cl=0 expect=100-continue;content-length=0\ncomplete\n", H1DecoderState::Closed},
      {"WebSocket upgrade hands the rest back",
       "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
       "req GET |a|/ws HTTP/1.1 ka=1 upgrade=websocket none connection=Upgrade;upgrade=websocket\ncomplete\n",
       H1DecoderState::Upgraded, "\x81\x05hello"},
      {"CONNECT hands the rest back", "CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n\r\n" + std::string("\x00\x01raw", 5),
       "req CONNECT |db:5432| HTTP/1.1 ka=1 connect none\ncomplete\n", H1DecoderState::Upgraded,
       std::string("\x00\x01raw", 5)},
      {"obs-text and inner whitespace are kept, outer whitespace trimmed",
       "GET / HTTP/1.1\r\nHost: a\r\nX-Name:  caf\xc3\xa9 \t au\tlait \t\r\n\r\n",
       "req GET |a|/ HTTP/1.1 ka=1 none x-name=caf\xc3\xa9 \t au\tlait\ncomplete\npause\n"},
  };
  for (const Case& c : cases) {
    std::string name = c.name;
    CAPTURE(name);
    Run expected = requests(whole(c.wire));
    CHECK(expected.log == c.log);
    CHECK(expected.state == c.state);
    CHECK(expected.rest == c.rest);
    CHECK(expected.error == H1Error::None);
    check_every_split(c.wire, expected);
  }
}

TEST_CASE("without pausing, pipelined requests decode in one feed") {
  std::string wire = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
  Recorder r;
  H1RequestDecoder d(r, H1DecoderOptions{.pause_after_message = false});
  CHECK(d.feed(wire) == wire.size());
  CHECK(d.state() == H1DecoderState::Parsing);
  CHECK(d.messages() == 2);
  REQUIRE(r.requests.size() == 2);
  CHECK(r.requests[1].path == "/2");
}

TEST_CASE("a paused decoder consumes nothing until resumed, then takes the rest") {
  std::string first = "POST /1 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx";
  std::string second = "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
  std::string wire = first + second;
  Recorder r;
  H1RequestDecoder d(r);
  CHECK(d.feed(wire) == first.size());
  CHECK(d.state() == H1DecoderState::MessageComplete);
  CHECK(d.keep_alive());
  CHECK(d.feed(second) == 0);
  d.resume();
  CHECK(d.feed(second) == second.size());
  CHECK(d.state() == H1DecoderState::MessageComplete);
  CHECK(r.requests.size() == 2);
}

TEST_CASE("a declined upgrade goes on as HTTP/1.1 after resume") {
  std::string head = "GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n";
  std::string next = "GET /b HTTP/1.1\r\nHost: a\r\n\r\n";
  Recorder r;
  H1RequestDecoder d(r);
  CHECK(d.feed(head + next) == head.size());
  REQUIRE(d.state() == H1DecoderState::Upgraded);
  d.resume();
  CHECK(d.feed(next) == next.size());
  REQUIRE(r.requests.size() == 2);
  CHECK(r.requests[1].path == "/b");
}

TEST_CASE("header limits are configurable and count names, values and the target") {
  std::string wire = "GET /abc HTTP/1.1\r\nHost: a\r\nX: 123456\r\n\r\n";  // 4 + 4+1 + 1+6 = 16
  CHECK(requests(whole(wire), H1DecoderOptions{.max_header_bytes = 16}).error == H1Error::None);
  CHECK(requests(whole(wire), H1DecoderOptions{.max_header_bytes = 15}).error == H1Error::HeadersTooLarge);
  CHECK(requests(whole(wire), H1DecoderOptions{.max_headers = 2}).error == H1Error::None);
  CHECK(requests(whole(wire), H1DecoderOptions{.max_headers = 1}).error == H1Error::TooManyHeaders);
  CHECK(requests(whole(wire), H1DecoderOptions{.max_request_line_bytes = 4}).error == H1Error::None);
  CHECK(requests(whole(wire), H1DecoderOptions{.max_request_line_bytes = 3}).error == H1Error::RequestLineTooLong);
}

TEST_CASE("the default limits are Envoy's: 60 KiB of headers, 100 fields") {
  H1DecoderOptions defaults;
  CHECK(defaults.max_header_bytes == 60 * 1024);
  CHECK(defaults.max_headers == 100);
  std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 99; ++i) many += "x-" + std::to_string(i) + ": v\r\n";
  CHECK(requests(whole(many + "\r\n")).error == H1Error::None);
  CHECK(requests(whole(many + "x-100: v\r\n\r\n")).error == H1Error::TooManyHeaders);
  std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(60 * 1024, 'v') + "\r\n\r\n";
  CHECK(requests(whole(big)).error == H1Error::HeadersTooLarge);
}

TEST_CASE("whitespace llhttp skips still counts against the head, feed by feed") {
  Recorder r;
  H1RequestDecoder d(r, H1DecoderOptions{.max_header_bytes = 1024, .max_request_line_bytes = 1024});
  CHECK(d.feed("GET / HTTP/1.1\r\nHost: a\r\nX:") > 0);
  std::string spaces(512, ' ');
  int feeds = 0;
  while (d.state() == H1DecoderState::Parsing && feeds < 100) {
    d.feed(spaces);
    ++feeds;
  }
  CHECK(d.error() == H1Error::HeadersTooLarge);
  CHECK(feeds < 10);
}

TEST_CASE("a body over max_body_bytes is refused, declared or streamed") {
  H1DecoderOptions limits{.max_body_bytes = 4};
  CHECK(requests(whole("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n"), limits).error ==
        H1Error::BodyTooLarge);
  std::string chunked = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  Run over = requests(whole(chunked), limits);
  CHECK(over.error == H1Error::BodyTooLarge);
  CHECK(over.log.substr(over.log.find("body:")) == "body:abcd");  // exactly the limit, then the error
  CHECK(requests(bytes(chunked), limits).log == over.log);
  CHECK(requests(whole(chunked), H1DecoderOptions{.max_body_bytes = 5}).error == H1Error::None);
}

struct Reject {
  const char* name;
  std::string wire;
  H1Error error;
  int status;
};

TEST_CASE("malformed and smuggling requests fail with their own reason, at any split") {
  const std::string post = "POST / HTTP/1.1\r\nHost: a\r\n";
  const std::string get = "GET / HTTP/1.1\r\nHost: a\r\n";
  const Reject cases[] = {
      {"CL then TE", post + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       H1Error::ContentLengthWithTransferEncoding, 400},
      {"TE then CL", post + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
       H1Error::ContentLengthWithTransferEncoding, 400},
      {"differing Content-Length", post + "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
       H1Error::DuplicateContentLength, 400},
      {"repeated Content-Length", post + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
       H1Error::DuplicateContentLength, 400},
      {"Content-Length list", post + "Content-Length: 3, 3\r\n\r\nabc", H1Error::InvalidContentLength, 400},
      {"negative Content-Length", post + "Content-Length: -1\r\n\r\n", H1Error::InvalidContentLength, 400},
      {"Content-Length overflow", post + "Content-Length: 99999999999999999999999\r\n\r\n",
       H1Error::InvalidContentLength, 400},
      {"TE gzip", post + "Transfer-Encoding: gzip\r\n\r\nabc", H1Error::UnsupportedTransferEncoding, 501},
      {"TE chunked, gzip", post + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
       H1Error::UnsupportedTransferEncoding, 501},
      {"TE gzip, chunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
       H1Error::UnsupportedTransferEncoding, 501},
      {"TE identity + chunked", post + "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       H1Error::UnsupportedTransferEncoding, 501},
      {"TE xchunked", post + "Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", H1Error::UnsupportedTransferEncoding, 501},
      {"TE on HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       H1Error::TransferEncodingOnHttp10, 400},
      {"obs-fold", get + "X: a\r\n b\r\n\r\n", H1Error::ObsFold, 400},
      {"obs-fold with a tab", get + "X: a\r\n\tb\r\nY: c\r\n\r\n", H1Error::ObsFold, 400},
      {"obs-fold of an empty value", get + "X:\r\n b\r\n\r\n", H1Error::ObsFold, 400},
      {"obs-fold of whitespace", get + "X:  \r\n  b\r\n\r\n", H1Error::ObsFold, 400},
      {"obs-fold in trailers", post + "Transfer-Encoding: chunked\r\n\r\n0\r\nT: a\r\n b\r\n\r\n", H1Error::ObsFold, 400},
      {"bare CR in a value", get + "X: a\rb\r\n\r\n", H1Error::BareCr, 400},
      {"bare CR ending the request line", "GET / HTTP/1.1\rHost: a\r\n\r\n", H1Error::BareCr, 400},
      {"space before the colon", get + "X : a\r\n\r\n", H1Error::InvalidHeaderName, 400},
      {"bad character in a name", get + "X(y: a\r\n\r\n", H1Error::InvalidHeaderName, 400},
      {"empty name (fuzz)", get + ": a\r\n\r\n", H1Error::InvalidHeaderName, 400},
      {"empty trailer name", post + "Transfer-Encoding: chunked\r\n\r\n0\r\n: a\r\n\r\n", H1Error::InvalidHeaderName, 400},
      {"control character in a value", get + "X: a\x01z\r\n\r\n", H1Error::InvalidHeaderValue, 400},
      {"DEL in a value", get + "X: a\x7fz\r\n\r\n", H1Error::InvalidHeaderValue, 400},
      {"unknown method", "FOO / HTTP/1.1\r\nHost: a\r\n\r\n", H1Error::InvalidMethod, 400},
      {"lower-case method", "get / HTTP/1.1\r\nHost: a\r\n\r\n", H1Error::InvalidMethod, 400},
      {"control character in the target", "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", H1Error::InvalidTarget, 400},
      {"ftp absolute-form", "GET ftp://a/x HTTP/1.1\r\nHost: a\r\n\r\n", H1Error::InvalidTarget, 400},
      {"userinfo in absolute-form", "GET http://u@a/x HTTP/1.1\r\nHost: a\r\n\r\n", H1Error::InvalidTarget, 400},
      {"asterisk for GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", H1Error::InvalidTarget, 400},
      {"CONNECT without a port", "CONNECT db HTTP/1.1\r\nHost: db\r\n\r\n", H1Error::InvalidTarget, 400},
      {"missing Host", "GET / HTTP/1.1\r\nX: a\r\n\r\n", H1Error::MissingHost, 400},
      {"two Hosts", get + "Host: b\r\n\r\n", H1Error::MultipleHost, 400},
      {"invalid Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", H1Error::InvalidHost, 400},
      {"Host disagrees with absolute-form", "GET http://a/x HTTP/1.1\r\nHost: b\r\n\r\n", H1Error::HostMismatch, 400},
      {"Host disagrees with CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: b:443\r\n\r\n", H1Error::HostMismatch, 400},
      {"HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", H1Error::UnsupportedVersion, 505},
      {"HTTP/1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", H1Error::UnsupportedVersion, 505},
      {"RTSP", "GET / RTSP/1.0\r\nHost: a\r\n\r\n", H1Error::UnsupportedVersion, 505},
      {"HTTP/0.9", "GET /\r\n\r\n", H1Error::UnsupportedVersion, 505},
      {"bad version before a bare CR (fuzz)", "GET / HTTP/5.1\r/1.1\r\n\r\n", H1Error::UnsupportedVersion, 505},
      {"bare CR in the target (fuzz)", "GET h\r\xa2\n3\r\n\r\n", H1Error::InvalidTarget, 400},
      {"bare CR after the target", "GET /\rX HTTP/1.1\r\nHost: a\r\n\r\n", H1Error::InvalidTarget, 400},
      {"bare CR ending the head", get + "\rX", H1Error::BareCr, 400},
      {"bare CR after a chunk size", post + "Transfer-Encoding: chunked\r\n\r\n3\rX", H1Error::BareCr, 400},
      {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", H1Error::Http2Preface, 505},
      {"bad chunk size", post + "Transfer-Encoding: chunked\r\n\r\nzz\r\n", H1Error::InvalidChunk, 400},
      {"chunk data without CRLF", post + "Transfer-Encoding: chunked\r\n\r\n3\r\nabcX0\r\n\r\n", H1Error::InvalidChunk, 400},
      {"chunk size overflow", post + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", H1Error::InvalidChunk, 400},
      {"TLS bytes", std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), H1Error::InvalidMethod, 400},
  };
  for (const Reject& c : cases) {
    std::string name = c.name;
    CAPTURE(name);
    H1ErrorCounts counts;
    Recorder r;
    H1RequestDecoder d(r, {}, &counts);
    Run run = drive(d, r, whole(c.wire));
    CHECK(run.state == H1DecoderState::Error);
    CHECK(to_string(run.error) == to_string(c.error));
    CHECK(status_for(run.error) == c.status);
    CHECK(counts[c.error] == 1);
    CHECK_FALSE(d.keep_alive());
    CHECK(d.feed("GET / HTTP/1.1\r\n\r\n") == 0);  // terminal
    CHECK(requests(bytes(c.wire)).error == c.error);
    for (size_t k = 1; k < c.wire.size(); ++k) {
      if (requests(split_at(c.wire, k)).error != c.error) {
        CAPTURE(k);
        CHECK(to_string(requests(split_at(c.wire, k)).error) == to_string(c.error));
      }
    }
  }
}

TEST_CASE("a request cut short by EOF is truncated; EOF between requests is a clean close") {
  CHECK(requests(whole("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab"), {}, true).error ==
        H1Error::TruncatedMessage);
  CHECK(requests(whole("GET / HTTP/1.1\r\nHost: a\r\n"), {}, true).error == H1Error::TruncatedMessage);
  Recorder r;
  H1RequestDecoder d(r);
  d.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  d.resume();
  CHECK(d.finish() == H1DecoderState::Closed);
  CHECK(d.error() == H1Error::None);
}

TEST_CASE("every reason has a name and a status") {
  for (size_t i = 1; i < kH1ErrorCount; ++i) {
    auto e = static_cast<H1Error>(i);
    CHECK(to_string(e) != "unknown");
    CHECK(status_for(e) >= 400);
  }
}
