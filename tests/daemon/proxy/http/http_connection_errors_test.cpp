// HttpConnection on a real worker over loopback sockets: bad input, failing applications,
// opaque bytes and what is recorded.
#include "tests/daemon/proxy/http/http_connection_fixture.hpp"

using namespace mesh;
using namespace mesh::testing;
using tunnel::http::DetectOutcome;
using tunnel::http::H1Error;
using namespace http_connection_test;

TEST_CASE("malformed requests close only their own connection, with a status and a counted reason") {
  HttpFixture f;
  Conn good(f.client());
  Conn app(f.accept_app());
  round_trip(good, app, "/first");
  struct Row {
    const char* name;
    std::string request;
    std::string_view status_line;
    H1Error reason;
  };
  std::string many;
  for (int i = 0; i < 101; ++i) many += fmt::format("X-H{}: v\r\n", i);
  std::string huge = "X-Big: " + std::string(70 * 1024, 'h') + "\r\n";  // over 60 KiB, over several receives
  const Row rows[] = {
      {"content-length with transfer-encoding",
       "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       "HTTP/1.1 400 Bad Request", H1Error::ContentLengthWithTransferEncoding},
      {"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", "HTTP/1.1 400 Bad Request", H1Error::ObsFold},
      {"too many headers", "GET / HTTP/1.1\r\nHost: a\r\n" + many + "\r\n", "HTTP/1.1 431 Request Header Fields Too Large",
       H1Error::TooManyHeaders},
      {"headers too large", "GET / HTTP/1.1\r\nHost: a\r\n" + huge + "\r\n", "HTTP/1.1 431 Request Header Fields Too Large",
       H1Error::HeadersTooLarge},
      {"unsupported transfer-encoding", "PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
       "HTTP/1.1 501 Not Implemented", H1Error::UnsupportedTransferEncoding},
  };
  for (const Row& r : rows) {
    CAPTURE(r.name);
    Conn bad(f.client());
    REQUIRE(bad.send(r.request));
    std::string head = bad.head();
    CHECK(head.starts_with(r.status_line));
    CHECK(head.find("\r\nconnection: close\r\n") != std::string::npos);
    CHECK(bad.ends());
    CHECK(eventually([&] { return f.request_errors(r.reason) == 1; }));
    round_trip(good, app, "/still");
  }
}

TEST_CASE("a malformed response from the application is answered 502") {
  HttpFixture f;
  Conn c(f.client());
  REQUIRE(c.send(get("/")));
  Conn app(f.accept_app());
  CHECK(!app.head().empty());
  REQUIRE(app.send("HTTP/1.1 2x0 What\r\n\r\n"));
  std::string body = "upstream connect error or disconnect/reset before headers. reset reason: protocol error";
  CHECK(c.message() == fmt::format("HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n"
                                   "connection: close\r\n\r\n{}",
                                   body.size(), body));
  CHECK(c.ends());
  CHECK(c.buf.empty());
}

TEST_CASE("an application that closes before its response head is answered 503") {
  HttpFixture f;
  Conn c(f.client());
  REQUIRE(c.send(get("/")));
  {
    Conn app(f.accept_app());
    CHECK(!app.head().empty());
  }
  std::string body = "upstream connect error or disconnect/reset before headers. reset reason: connection termination";
  CHECK(c.message() == fmt::format("HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n"
                                   "content-length: {}\r\nconnection: close\r\n\r\n{}",
                                   body.size(), body));
  CHECK(c.clean_eof());
}

TEST_CASE("an application that resets before its response head is answered 503") {
  HttpFixture f;
  Conn c(f.client());
  REQUIRE(c.send(get("/")));
  {
    Conn app(f.accept_app());
    CHECK(!app.head().empty());
    io::set_reset_on_close(app.get());
  }
  std::string head = c.head();
  CHECK(head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
  CHECK(head.find("\r\nconnection: close\r\n") != std::string::npos);
  CHECK(c.ends());
}

TEST_CASE("an application that closes mid-body leaves the client with no complete response") {
  HttpFixture f;
  Conn c(f.client());
  REQUIRE(c.send(get("/")));
  {
    Conn app(f.accept_app());
    CHECK(!app.head().empty());
    REQUIRE(app.send("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789"));
  }
  CHECK(c.head() == "HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n");
  bool eof = read_to_eof(c.get(), c.buf);
  CHECK_FALSE(eof);  // a reset, not a FIN that would pass for the end of the body
  CHECK(errno == ECONNRESET);
  CHECK(c.buf.size() < 100);
}

TEST_CASE("bytes that are not HTTP are relayed untouched") {
  HttpFixture f({.authorize = false});
  Conn c(f.client());
  std::string hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  REQUIRE(c.send(hello));
  Conn app(f.accept_app());
  CHECK(app.take(hello.size()) == hello);
  REQUIRE(app.send(std::string("\x16\x03\x03\x00\x02\x02\x28", 7)));
  CHECK(c.take(7) == std::string("\x16\x03\x03\x00\x02\x02\x28", 7));
  CHECK(f.detections(DetectOutcome::Opaque) == 1);
  CHECK(f.http().requests.value() == 0);
}

TEST_CASE("bytes that only turn out not to be HTTP in a later receive are relayed whole") {
  HttpFixture f({.authorize = false});
  Conn c(f.client());
  int one = 1;
  ::setsockopt(c.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  REQUIRE(c.send("GET /x"));
  std::this_thread::sleep_for(20ms);  // see "a request whose first bytes arrive apart"
  REQUIRE(c.send(std::string("\x00\x01 and on", 9)));
  Conn app(f.accept_app());
  CHECK(app.take(15) == std::string("GET /x\x00\x01 and on", 15));
  ::shutdown(c.get(), SHUT_WR);
  CHECK(app.clean_eof());
  CHECK(f.detections(DetectOutcome::Opaque) == 1);
}

TEST_CASE("opaque bytes are judged with TCP semantics: rules that need HTTP attributes refuse them") {
  // The ALLOW rule names methods, the DENY rule a header: as TCP neither can be checked, and
  // Istio drops such an ALLOW rule and keeps such a DENY rule.
  HttpFixture f;
  Conn c(f.client());
  REQUIRE(c.send(std::string("\x16\x03\x01\x02\x00", 5)));
  Conn app(f.accept_app());
  CHECK(c.ends());
  CHECK(c.buf.empty());
  CHECK(app.ends());
  CHECK(app.buf.empty());
  CHECK(eventually([&] { return f.relay.stats().closed[static_cast<size_t>(proxy::CloseReason::Denied)].value() == 1; }));
  CHECK(f.detections(DetectOutcome::Opaque) == 1);
}

TEST_CASE("an application that speaks first gets its banner to the client at once, then a relay") {
  HttpFixture f({.authorize = false});
  Conn c(f.client());
  Conn app(f.accept_app());
  auto start = std::chrono::steady_clock::now();
  REQUIRE(app.send("220 mail ready\r\n"));
  CHECK(c.line() == "220 mail ready");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));  // not the 5 s detection timeout
  REQUIRE(c.send("GET / HTTP/1.1\r\n\r\n"));  // now HTTP-looking bytes are just bytes
  CHECK(app.take(18) == "GET / HTTP/1.1\r\n\r\n");
  CHECK(f.detections(DetectOutcome::Opaque) == 1);
  CHECK(f.detections(DetectOutcome::Timeout) == 0);
  CHECK(f.http().requests.value() == 0);
}

TEST_CASE("a port declared http is inspected without sniffing") {
  HttpFixture f({.declare_http = true});
  Conn c(f.client());
  Conn app(f.accept_app());
  round_trip(c, app, "/declared");
  // A head larger than a receive buffer is decoded across receives.
  std::string big_value(40 * 1024, 'v');
  REQUIRE(c.send(get("/big-head", "X-Big: " + big_value + "\r\n")));
  CHECK(without_id(app.head()) == app_get("/big-head") + "x-big: " + big_value + "\r\n\r\n");
  REQUIRE(app.send(kOk));
  CHECK(c.message() == kOk);
  CHECK(f.detections(DetectOutcome::Declared) == 1);
  CHECK(f.detections(DetectOutcome::SniffedHttp1) == 0);
  // Declared, a request line too long for sniffing still gets its HTTP answer.
  Conn l(f.client());
  REQUIRE(l.send(get("/" + std::string(20 * 1024, 'p'))));
  CHECK(l.head().starts_with("HTTP/1.1 414 URI Too Long\r\n"));
  CHECK(l.ends());
  CHECK(eventually([&] { return f.request_errors(H1Error::RequestLineTooLong) == 1; }));
}

TEST_CASE("HTTP/2 with prior knowledge is handed to the HTTP/2 proxy, preface and all") {
  HttpFixture f({.authorize = false});
  Conn c(f.client());
  std::string bytes = std::string(tunnel::http::kH2Preface) + std::string("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9);
  REQUIRE(c.send(bytes));  // the preface and an empty SETTINGS frame
  Conn app(f.accept_app());
  // The application hears meshd's own HTTP/2 client: its preface, not a copy of the client's bytes.
  CHECK(app.take(tunnel::http::kH2Preface.size()) == tunnel::http::kH2Preface);
  CHECK(f.detections(DetectOutcome::SniffedHttp2) == 1);
}

TEST_CASE("each request is recorded once, by response code") {
  HttpFixture f;
  {
    Conn c(f.client());
    Conn app(f.accept_app());
    round_trip(c, app, "/1");
    round_trip(c, app, "/2");
    REQUIRE(c.send("POST /p HTTP/1.1\r\nHost: app.test\r\n\r\n"));
    CHECK(c.message() == kDenied);
  }
  {
    Conn c(f.client());
    REQUIRE(c.send(get("/%zz")));
    CHECK(c.head().starts_with("HTTP/1.1 400 "));
  }
  auto count = [](const std::string& text, std::string_view code) -> std::string {
    std::string key = fmt::format("response_code=\"{}\"", code);
    for (size_t at = text.find("istio_requests_total{"); at != std::string::npos;
         at = text.find("istio_requests_total{", at + 1)) {
      std::string line = text.substr(at, text.find('\n', at) - at);
      if (line.find(key) != std::string::npos) return line.substr(line.rfind(' ') + 1);
    }
    return "";
  };
  CHECK(eventually([&] { return count(f.scrape(), "400") == "1"; }));
  std::string text = f.scrape();
  CAPTURE(text);
  CHECK(count(text, "200") == "2");
  CHECK(count(text, "403") == "1");
  CHECK(count(text, "400") == "1");
  CHECK(text.find("meshd_request_metrics_series 3\n") != std::string::npos);
  // Every record names its peers, whatever answered it (the application, authorization, a
  // refused path).
  constexpr std::string_view kPeers =
      "istio_requests_total{reporter=\"destination\",source_workload=\"app\",source_workload_namespace=\"shop\","
      "source_principal=\"spiffe://cluster.local/ns/shop/sa/app\",destination_workload=\"app\","
      "destination_workload_namespace=\"shop\",destination_principal=\"spiffe://cluster.local/ns/shop/sa/app\","
      "destination_service=\"unknown\",request_protocol=\"http\",response_code=\"";
  for (std::string_view code : {"200", "403", "400"}) {
    CAPTURE(code);
    CHECK(text.find(std::string(kPeers) + std::string(code) + "\",grpc_response_status=\"\",response_flags=\"-\"} ") !=
          std::string::npos);
  }
}
