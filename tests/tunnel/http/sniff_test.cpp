#include "tunnel/http/sniff.hpp"

#include <array>
#include <string>
#include <vector>

#include <doctest/doctest.h>

using namespace mesh::tunnel::http;

namespace {

// The answer for every prefix of `input`: NeedMore up to (excluding) length `decided_at`,
// then `answer` for it and every longer prefix.
void check_prefixes(std::string_view input, size_t decided_at, Sniffed answer) {
  for (size_t n = 0; n <= input.size(); ++n) {
    std::string prefix(input.substr(0, n));
    CAPTURE(prefix);
    CHECK(sniff(prefix) == (n < decided_at ? Sniffed::NeedMore : answer));
  }
}

const std::string kTlsClientHello{"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11};

}  // namespace

TEST_CASE("nothing is decided from no bytes") { CHECK(sniff("") == Sniffed::NeedMore); }

TEST_CASE("every strict prefix of the HTTP/2 preface needs more; the full preface is HTTP/2") {
  std::string input = std::string(kH2Preface) + "\x00\x00\x12\x04\x00\x00\x00\x00\x00";
  check_prefixes(input, kH2Preface.size(), Sniffed::Http2);
}

TEST_CASE("a request line is HTTP/1 as soon as its version digit arrives") {
  std::string_view line = "GET /index.html?q=1 HTTP/1.1\r\nHost: a\r\n\r\n";
  check_prefixes(line, line.find("1.1") + 3, Sniffed::Http1);
  std::string_view pri = "PRI * HTTP/1.1\r\n";  // shares the preface's first 11 bytes
  check_prefixes(pri, pri.find("1.1") + 3, Sniffed::Http1);
}

TEST_CASE("bytes that cannot start either protocol are opaque at the first byte that says so") {
  struct Row {
    std::string input;
    size_t decided_at;  // length of the shortest prefix that is decided
  };
  const Row rows[] = {
      {kTlsClientHello, 1},                                    // 0x16 is no tchar
      {"SSH-2.0-OpenSSH_9.6\r\n", 20},                          // a token, then CR
      {"GET  / HTTP/1.1\r\n", 5},                               // empty request-target
      {" GET / HTTP/1.1\r\n", 1},                               // empty method
      {"GET /a\tb HTTP/1.1\r\n", 7},                            // TAB in the target
      {"GET / HTTP/2.0\r\n", 12},                               // not 1.x
      {"GET / http/1.1\r\n", 7},                                // the version is case-sensitive
      {"GET / HTTP/1.x\r\n", 14},
      {"PRI * HTTP/2.0\r\n\r\nXM\r\n\r\n", 19},                 // diverges from the preface
      {"PRI * HTTP/2.0 \r\n", 15},                              // diverges from the preface
      {std::string("\x00\x00\x00", 3), 1},
  };
  for (const auto& row : rows) {
    CAPTURE(row.input);
    check_prefixes(row.input, row.decided_at, Sniffed::Opaque);
  }
}

TEST_CASE("any token is a method and any visible ASCII a request-target") {
  CHECK(sniff("get * HTTP/1.0") == Sniffed::Http1);
  CHECK(sniff("M-SEARCH * HTTP/1.1") == Sniffed::Http1);
  CHECK(sniff("CONNECT example.com:443 HTTP/1.1") == Sniffed::Http1);
  CHECK(sniff("GET http://a/b?c=%20&d=~ HTTP/1.9") == Sniffed::Http1);
  CHECK(sniff("GET /\xc3\xa9 HTTP/1.1") == Sniffed::Opaque);  // raw UTF-8 is not a URI
}

TEST_CASE("a request line that does not reach its version within the limit is opaque") {
  std::string line = "GET /" + std::string(kDefaultMaxRequestLine, 'a') + " HTTP/1.1\r\n";
  CHECK(sniff(line.substr(0, kDefaultMaxRequestLine - 1)) == Sniffed::NeedMore);
  CHECK(sniff(line.substr(0, kDefaultMaxRequestLine)) == Sniffed::Opaque);
  CHECK(sniff(line) == Sniffed::Opaque);
  // With a limit that holds the line up to its version digit, it is HTTP/1.
  std::string_view short_line = "GET /abcdefghijklmnopqrst HTTP/1.1";  // 34 bytes
  CHECK(sniff(short_line, 34) == Sniffed::Http1);
  CHECK(sniff(short_line, 33) == Sniffed::Opaque);
  CHECK(sniff(short_line.substr(0, 32), 33) == Sniffed::NeedMore);
  // The limit never goes below the preface.
  CHECK(sniff(kH2Preface, 1) == Sniffed::Http2);
}

TEST_CASE("a decided answer never changes as more bytes arrive") {
  const std::string inputs[] = {std::string(kH2Preface) + "xyz", "HEAD / HTTP/1.0\r\n\r\n", kTlsClientHello,
                                "SSH-2.0-x\r\n", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r", "hello world"};
  for (const auto& input : inputs) {
    CAPTURE(input);
    Sniffed first = Sniffed::NeedMore;
    for (size_t n = 0; n <= input.size(); ++n) {
      Sniffed now = sniff(std::string_view(input).substr(0, n));
      if (first != Sniffed::NeedMore) CHECK(now == first);
      first = now;
    }
  }
}

TEST_CASE("the protocol decision table") {
  const std::array<uint16_t, 2> skip{3306, 5432};
  struct Row {
    DeclaredProtocol declared;
    uint16_t port;
    Sniffed sniffed;
    bool timed_out;
    ProtocolAction action;
    DetectOutcome outcome;
  };
  using D = DeclaredProtocol;
  using S = Sniffed;
  using A = ProtocolAction;
  using O = DetectOutcome;
  const Row rows[] = {
      // A declaration decides at once, whatever arrived, even on a skip-list port.
      {D::Http, 80, S::NeedMore, false, A::Http1, O::Declared},
      {D::Http, 3306, S::Http2, false, A::Http1, O::Declared},
      {D::Http2, 80, S::NeedMore, false, A::Http2, O::Declared},
      {D::Grpc, 80, S::Opaque, false, A::Http2, O::Declared},
      {D::Tcp, 80, S::Http1, false, A::Opaque, O::Declared},
      {D::Tcp, 80, S::NeedMore, true, A::Opaque, O::Declared},
      // Server-first ports are never sniffed.
      {D::Undeclared, 3306, S::NeedMore, false, A::Opaque, O::SkippedServerFirst},
      {D::Undeclared, 5432, S::Http1, false, A::Opaque, O::SkippedServerFirst},
      // Otherwise the bytes decide, and beat a timer that fired at the same time.
      {D::Undeclared, 80, S::Http1, false, A::Http1, O::SniffedHttp1},
      {D::Undeclared, 80, S::Http2, true, A::Http2, O::SniffedHttp2},
      {D::Undeclared, 80, S::Opaque, false, A::Opaque, O::Opaque},
      {D::Undeclared, 6379, S::Opaque, false, A::Opaque, O::Opaque},  // not in this list
      {D::Undeclared, 80, S::NeedMore, true, A::Opaque, O::Timeout},
      {D::Undeclared, 80, S::NeedMore, false, A::Wait, O::Declared},
  };
  for (const auto& r : rows) {
    CAPTURE(static_cast<int>(r.declared));
    CAPTURE(r.port);
    CAPTURE(to_string(r.sniffed));
    CAPTURE(r.timed_out);
    DetectDecision d = decide_protocol({.declared = r.declared, .port = r.port, .server_first_ports = skip,
                                        .sniffed = r.sniffed, .timed_out = r.timed_out});
    CHECK(to_string(d.action) == to_string(r.action));
    if (r.action != A::Wait) CHECK(to_string(d.outcome) == to_string(r.outcome));
  }
}

TEST_CASE("the default skip list is Linkerd's server-speaks-first ports") {
  for (uint16_t port : {25, 587, 3306, 4444, 5432, 6379, 9300, 11211}) {
    CAPTURE(port);
    CHECK(decide_protocol({.port = port}).outcome == DetectOutcome::SkippedServerFirst);
  }
  CHECK(decide_protocol({.port = 8080}).action == ProtocolAction::Wait);
  CHECK(decide_protocol({.port = 3306, .server_first_ports = {}}).action == ProtocolAction::Wait);
}

TEST_CASE("every outcome has a metric label") {
  std::vector<std::string_view> names;
  for (size_t i = 0; i < kDetectOutcomeCount; ++i) names.push_back(to_string(static_cast<DetectOutcome>(i)));
  CHECK(names == std::vector<std::string_view>{"declared", "sniffed_http1", "sniffed_http2", "opaque", "timeout",
                                               "skipped_server_first"});
}

TEST_CASE("an h2c server's SETTINGS before the client's bytes is recognised, anything else is not") {
  using namespace std::string_literals;
  std::string settings = "\x00\x00\x12\x04\x00\x00\x00\x00\x00"s + std::string(18, '\x01');
  for (size_t n = 0; n <= settings.size(); ++n) {
    CAPTURE(n);
    CHECK(server_h2_preface(std::string_view(settings).substr(0, n)));
  }
  CHECK(server_h2_preface("\x00\x00\x00\x04\x00\x00\x00\x00\x00"s));  // empty SETTINGS
  CHECK_FALSE(server_h2_preface("220 smtp.example ESMTP\r\n"));
  CHECK_FALSE(server_h2_preface("\x00\x00\x07\x04\x00\x00\x00\x00\x00"s));  // length not a multiple of 6
  CHECK_FALSE(server_h2_preface("\x00\x00\x00\x04\x01\x00\x00\x00\x00"s));  // an ACK
  CHECK_FALSE(server_h2_preface("\x00\x00\x00\x04\x00\x00\x00\x00\x01"s));  // stream 1
  CHECK_FALSE(server_h2_preface("\x00\x00\x06\x08\x00\x00\x00\x00\x00"s));  // WINDOW_UPDATE
}
