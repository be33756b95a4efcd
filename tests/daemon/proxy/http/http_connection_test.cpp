#include "daemon/proxy/http/http_connection.hpp"

#include <fmt/format.h>

#include <netinet/tcp.h>

#include <future>
#include <regex>

#include "daemon/proxy/decide.hpp"
#include "daemon/proxy/http/http_stats.hpp"
#include "daemon/proxy/mesh_view.hpp"
#include "daemon/telemetry/request_metrics.hpp"
#include "policy/toml/codec.hpp"
#include "tests/daemon/proxy/relay_fixture.hpp"

// HttpConnection on a real worker: a client and the "application" (a loopback listener the
// test accepts from itself) on either side of a plaintext inbound listener whose connections
// are decided as the inbound capture port decides them (decide_inbound_plaintext).

using namespace mesh;
using namespace mesh::testing;
using tunnel::http::DetectOutcome;
using tunnel::http::H1Error;

namespace {

struct Setup {
  bool declare_http = false;  // a service port says protocol = "http" (else sniffed)
  bool authorize = true;      // the rules below (else everything is allowed)
};

// The workload at 127.0.0.1; with `authorize` it takes GET, HEAD and PUT, and nothing carrying
// x-block: yes.
std::string policy_text(uint16_t app_port, Setup setup) {
  std::string text = R"(
[[workload]]
name = "app"
namespace = "shop"
service_account = "app"
addresses = ["127.0.0.1"]
labels = { app = "app" }
)";
  if (setup.authorize) {
    text += R"(
[[authorization]]
name = "app-reads"
namespace = "shop"
selector = { app = "app" }
[[authorization.rules]]
to = [{ methods = ["GET", "HEAD", "PUT"] }]

[[authorization]]
name = "app-block"
namespace = "shop"
selector = { app = "app" }
action = "deny"
[[authorization.rules]]
when = [{ key = "request.headers[x-block]", values = ["yes"] }]
)";
  }
  if (setup.declare_http) {
    text += fmt::format(
        "\n[[service]]\nname = \"app\"\nnamespace = \"shop\"\nselector = {{ app = \"app\" }}\n"
        "ports = [{{ port = {}, protocol = \"http\" }}]\n",
        app_port);
  }
  return text;
}

policy::PolicySnapshot compile(const std::string& text) {
  std::vector<policy::SourceFile> files{{"mesh.toml", text}};
  auto r = policy::load_policy_sources(files, policy::CompileOptions{});
  for (const auto& e : r.errors) FAIL(e.to_string());
  REQUIRE(r.ok());
  return r.policy;
}

// A worker whose listener sends every connection to the application's listener, with the
// attributes the inbound capture port gives it, and the policy above installed.
struct HttpFixture {
  explicit HttpFixture(Setup setup = {})
      : app_listen(listen_loopback()),
        app_addr(io::local_address(app_listen.get()).value()),
        relay(app_addr, std::chrono::hours(1), 1000, std::chrono::seconds(5), 64, destination(app_addr),
              &metrics.recorder(0)) {
    auto view = std::make_shared<proxy::MeshView>();
    view->trust_domain = "cluster.local";
    view->policy = compile(policy_text(app_addr.port(), setup));
    std::promise<void> installed;
    relay.worker->post([&] {
      proxy::install_view(view);
      installed.set_value();
    });
    installed.get_future().wait();
  }

  static proxy::DestinationFn destination(base::SocketAddr app) {
    return [app](int fd) {
      auto client = io::peer_address(fd);
      if (!client) return proxy::FlowTarget::refuse(proxy::RejectReason::NoDestination);
      return proxy::decide_inbound_plaintext(proxy::current_view(), {}, *client, app, {});
    };
  }

  base::Fd client() {
    base::Fd c = connect_to(relay.listen);
    REQUIRE(c);
    return c;
  }
  // The application's side of the next proxied connection.
  base::Fd accept_app() {
    base::Fd a = accept_one(app_listen.get(), 5000);
    REQUIRE(a);
    return a;
  }
  // Whether another connection reached the application (nothing should be pending).
  bool app_pending() {
    pollfd p{app_listen.get(), POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }
  const proxy::HttpStats& http() const { return relay.worker->http_stats(); }
  uint64_t request_errors(H1Error e) const { return http().request_errors[static_cast<size_t>(e)].value(); }
  uint64_t detections(DetectOutcome o) const { return http().detections[static_cast<size_t>(o)].value(); }
  std::string scrape() const {
    telemetry::Exposition e;
    metrics.collect(e);
    return e.take();
  }

  base::Fd app_listen;
  base::SocketAddr app_addr;
  telemetry::RequestMetrics metrics{1};
  RelayFixture relay;
};

// One end of a test connection, read as HTTP/1.1 messages (blocking, 5 s receive timeout).
struct Conn {
  explicit Conn(base::Fd f) : fd(std::move(f)) {}
  int get() const { return fd.get(); }
  bool send(std::string_view data) { return send_all(fd.get(), data); }

  // One more read into `buf`: false at EOF, error or timeout.
  bool fill() {
    char b[65536];
    for (;;) {
      ssize_t n = ::recv(fd.get(), b, sizeof b, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buf.append(b, static_cast<size_t>(n));
      return true;
    }
  }
  // Through the blank line; "" when the connection ended first.
  std::string head() {
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return "";
    }
    std::string h = buf.substr(0, end + 4);
    buf.erase(0, end + 4);
    return h;
  }
  std::string take(size_t n) {
    while (buf.size() < n) {
      if (!fill()) break;
    }
    std::string out = buf.substr(0, std::min(n, buf.size()));
    buf.erase(0, out.size());
    return out;
  }
  std::string line() {
    size_t end;
    while ((end = buf.find("\r\n")) == std::string::npos) {
      if (!fill()) return "";
    }
    std::string l = buf.substr(0, end);
    buf.erase(0, end + 2);
    return l;
  }
  // A chunked body: the decoded bytes, and the trailer section (its lines, through the blank
  // one) in `trailers`. nullopt when the encoding is broken.
  std::optional<std::string> chunked(std::string* trailers = nullptr) {
    std::string body;
    for (;;) {
      std::string size_line = line();
      if (size_line.empty()) return std::nullopt;
      size_t size = std::stoul(size_line, nullptr, 16);
      if (size == 0) break;
      body += take(size);
      if (line() != "") return std::nullopt;
    }
    std::string t;
    for (std::string l = line(); !l.empty(); l = line()) t += l + "\r\n";
    if (trailers) *trailers = t;
    return body;
  }
  // Head and Content-Length body of one message.
  std::string message() {
    std::string h = head();
    static const std::regex kLength("\r\ncontent-length: ([0-9]+)\r\n", std::regex::icase);
    std::smatch m;
    if (std::regex_search(h, m, kLength)) h += take(std::stoul(m[1]));
    return h;
  }
  // Whether the peer closed cleanly (FIN) with nothing more to read.
  bool clean_eof() {
    std::string rest;
    bool eof = read_to_eof(fd.get(), rest);
    buf += rest;
    return eof && buf.empty();
  }
  // Reads to the end: true when it ended in a reset or FIN (not a timeout); `buf` has the rest.
  bool ends() {
    std::string rest;
    bool eof = read_to_eof(fd.get(), rest);
    buf += rest;
    return eof || errno == ECONNRESET;
  }

  base::Fd fd;
  std::string buf;
};

constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
constexpr std::string_view kDenied =
    "HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 19\r\n\r\nRBAC: access denied";
constexpr std::string_view kDeniedClose =
    "HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 19\r\nconnection: close\r\n\r\n"
    "RBAC: access denied";

std::string get(std::string_view path, std::string_view extra = "") {
  return fmt::format("GET {} HTTP/1.1\r\nHost: app.test\r\n{}\r\n", path, extra);
}
std::string app_get(std::string_view path) { return fmt::format("GET {} HTTP/1.1\r\nhost: app.test\r\n", path); }

// The x-request-id field of `head` when it is a version 4 UUID (as the proxy adds), else "".
std::string request_id(const std::string& head) {
  static const std::regex kId("\r\nx-request-id: ([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})\r\n");
  std::smatch m;
  return std::regex_search(head, m, kId) ? m[1].str() : "";
}
// `head` without its x-request-id field (checked apart: its value is random).
std::string without_id(const std::string& head) {
  auto at = head.find("\r\nx-request-id: ");
  if (at == std::string::npos) return head;
  return head.substr(0, at) + head.substr(head.find("\r\n", at + 2));
}

// A GET from `c` answered by `app` (already accepted) with kOk.
void round_trip(Conn& c, Conn& app, std::string_view path) {
  REQUIRE(c.send(get(path)));
  CHECK(without_id(app.head()) == app_get(path) + "\r\n");
  REQUIRE(app.send(kOk));
  CHECK(c.message() == kOk);
}

}  // namespace

TEST_CASE("an allowed GET reaches the application with an x-request-id and without hop-by-hop fields") {
  HttpFixture f;
  Conn c(f.client());
  REQUIRE(c.send("GET /hello?x=1 HTTP/1.1\r\nHost: app.test\r\nConnection: foo, keep-alive\r\nKeep-Alive: timeout=5\r\n"
                 "Foo: bar\r\nX-Keep: 1\r\nProxy-Connection: keep-alive\r\n\r\n"));
  Conn app(f.accept_app());
  std::string seen = app.head();
  CHECK(without_id(seen) == "GET /hello?x=1 HTTP/1.1\r\nhost: app.test\r\nx-keep: 1\r\n\r\n");
  std::string id = request_id(seen);
  CHECK(id.size() == 36);
  REQUIRE(app.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-App: yes\r\nKeep-Alive: timeout=9\r\n\r\nhello"));
  CHECK(c.message() == "HTTP/1.1 200 OK\r\nx-app: yes\r\ncontent-length: 5\r\n\r\nhello");

  // The next request rides the same application connection; a client's x-request-id is kept.
  REQUIRE(c.send(get("/again", "X-Request-Id: abc\r\n")));
  CHECK(app.head() == app_get("/again") + "x-request-id: abc\r\n\r\n");
  REQUIRE(app.send(kOk));
  CHECK(c.message() == kOk);
  CHECK_FALSE(f.app_pending());
  CHECK(f.http().requests.value() == 2);
  CHECK(f.detections(DetectOutcome::SniffedHttp1) == 1);

  // Connection: close from the client: the answer says so and the connection ends.
  REQUIRE(c.send(get("/last", "Connection: close\r\n")));
  CHECK(without_id(app.head()) == app_get("/last") + "connection: close\r\n\r\n");
  REQUIRE(app.send(kOk));
  CHECK(c.message() == "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
  CHECK(c.clean_eof());
}

TEST_CASE("a denied request is answered 403 here and the connection serves the next one") {
  HttpFixture f;
  Conn c(f.client());
  Conn app(f.accept_app());
  REQUIRE(c.send("POST /p HTTP/1.1\r\nHost: app.test\r\n\r\n"));
  CHECK(c.message() == kDenied);
  // Allowed by method, denied by the header rule.
  REQUIRE(c.send(get("/blocked", "X-Block: yes\r\n")));
  CHECK(c.message() == kDenied);
  // A body sent without waiting for 100-continue is read and dropped: the connection stays.
  REQUIRE(c.send("POST /big HTTP/1.1\r\nHost: app.test\r\nContent-Length: 10000\r\n\r\n" + std::string(10000, 'b')));
  CHECK(c.message() == kDenied);
  // The application's first bytes are the GET: nothing of the denied requests reached it.
  round_trip(c, app, "/after");
  CHECK(app.buf.empty());
  CHECK(f.http().denied.value() == 3);
}

TEST_CASE("a client that pipelines denied requests without reading the answers is back-pressured") {
  // Every request is answered here, none goes to the application: the answers must wait for
  // the client to read them, not pile up in the proxy while it reads on.
  HttpFixture f;
  Conn c(connect_to(f.relay.listen, 16 * 1024));
  REQUIRE(c.fd);
  constexpr std::string_view kPost = "POST / HTTP/1.1\r\nHost: a\r\n\r\n";
  std::string batch;
  for (int i = 0; i < 4096; ++i) batch += kPost;
  constexpr size_t kLimit = 16 * 1024 * 1024;  // far beyond what the socket buffers hold
  size_t sent = 0;
  while (sent < kLimit) {
    size_t at = sent % batch.size();
    ssize_t n = ::send(c.get(), batch.data() + at, batch.size() - at, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    REQUIRE((n < 0 && (errno == EAGAIN || errno == EINTR)));
    pollfd p{c.get(), POLLOUT, 0};
    if (::poll(&p, 1, 500) == 0) break;  // the proxy stopped reading: back-pressure
  }
  CHECK(sent < kLimit);
  // Reading the answers lets the rest through: each request got its 403, in order.
  size_t requests = (sent + kPost.size() - 1) / kPost.size();
  std::string answers;
  std::thread reader([&] { answers = read_exact(c.get(), requests * kDenied.size()); });
  REQUIRE(c.send(kPost.substr(sent % kPost.size() == 0 ? kPost.size() : sent % kPost.size())));
  reader.join();
  CHECK(answers.size() == requests * kDenied.size());
  size_t good = 0;
  while (good < requests && answers.compare(good * kDenied.size(), kDenied.size(), kDenied) == 0) ++good;
  CHECK(good == requests);
  CHECK(f.http().denied.value() == requests);
}

TEST_CASE("a denied request awaiting 100-continue is answered at once and the connection closes") {
  HttpFixture f;
  Conn c(f.client());
  Conn app(f.accept_app());
  REQUIRE(c.send("POST /big HTTP/1.1\r\nHost: app.test\r\nContent-Length: 10000\r\nExpect: 100-continue\r\n\r\n"));
  CHECK(c.message() == kDeniedClose);
  CHECK(c.clean_eof());
  CHECK(app.clean_eof());  // the application saw a connection and nothing on it
}

TEST_CASE("a request whose first bytes arrive apart is still inspected at once") {
  // Each piece is meant to arrive in a receive of its own: the pause only makes that likely
  // (the test passes however the bytes arrive when the proxy is right).
  HttpFixture f;
  Conn c(f.client());
  int one = 1;
  ::setsockopt(c.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  auto start = std::chrono::steady_clock::now();
  const char* pieces[] = {"GE", "T /spl", "it HTTP/1.1\r\nHo", "st: app.test\r\n", "\r\n"};
  for (const char* p : pieces) {
    REQUIRE(c.send(p));
    std::this_thread::sleep_for(20ms);
  }
  Conn app(f.accept_app());
  std::string head = app.head();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(2));  // not the detection timeout
  CHECK(without_id(head) == app_get("/split") + "\r\n");
  CHECK(request_id(head).size() == 36);
  CHECK(f.detections(DetectOutcome::SniffedHttp1) == 1);
}

TEST_CASE("pipelined requests are answered one after the other, in order") {
  HttpFixture f;
  Conn c(f.client());
  REQUIRE(c.send(get("/one") + get("/two")));
  Conn app(f.accept_app());
  CHECK(without_id(app.head()) == app_get("/one") + "\r\n");
  REQUIRE(app.send("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\none"));
  CHECK(without_id(app.head()) == app_get("/two") + "\r\n");
  REQUIRE(app.send("HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\ntwo"));
  CHECK(c.message() == "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\none");
  CHECK(c.message() == "HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\ntwo");
}

TEST_CASE("chunked bodies and trailers pass through both ways") {
  HttpFixture f;
  Conn c(f.client());
  REQUIRE(c.send("PUT /up HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;ext=1\r\npedia\r\n"
                 "0\r\nX-Check: ok\r\n\r\n"));
  Conn app(f.accept_app());
  CHECK(without_id(app.head()) == "PUT /up HTTP/1.1\r\nhost: app.test\r\ntransfer-encoding: chunked\r\n\r\n");
  std::string trailers;
  CHECK(app.chunked(&trailers) == "Wikipedia");
  CHECK(trailers == "x-check: ok\r\n");
  REQUIRE(app.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r\nhello\r\n6\r\n world\r\n"
                   "0\r\nX-Sum: 42\r\n\r\n"));
  CHECK(c.head() == "HTTP/1.1 200 OK\r\ntrailer: X-Sum\r\ntransfer-encoding: chunked\r\n\r\n");
  trailers.clear();
  CHECK(c.chunked(&trailers) == "hello world");
  CHECK(trailers == "x-sum: 42\r\n");
  round_trip(c, app, "/after");  // the connection is still in step
}

TEST_CASE("content-length bodies pass through both ways, a large one whole") {
  HttpFixture f;
  Conn c(f.client());
  REQUIRE(c.send("PUT /up HTTP/1.1\r\nHost: app.test\r\nContent-Length: 7\r\n\r\npayload"));
  Conn app(f.accept_app());
  CHECK(without_id(app.head()) == "PUT /up HTTP/1.1\r\nhost: app.test\r\ncontent-length: 7\r\n\r\n");
  CHECK(app.take(7) == "payload");
  // 1 MB, more than the socket buffers and the worker's receive buffers hold: the proxy
  // must pause reading the application while the client is behind.
  std::string big(1024 * 1024, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 7919) % 26);
  std::thread writer([&] { app.send("HTTP/1.1 200 OK\r\ncontent-length: 1048576\r\n\r\n" + big); });
  CHECK(c.head() == "HTTP/1.1 200 OK\r\ncontent-length: 1048576\r\n\r\n");
  std::string got = c.take(big.size());
  writer.join();
  CHECK(got.size() == big.size());
  CHECK(got == big);
  round_trip(c, app, "/after");
}

TEST_CASE("a large request body reaches a slow application whole") {
  HttpFixture f;
  Conn c(f.client());
  std::string big(1024 * 1024, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('A' + (i * 104729) % 26);
  std::thread writer([&] { c.send("PUT /big HTTP/1.1\r\nHost: app.test\r\nContent-Length: 1048576\r\n\r\n" + big); });
  Conn app(f.accept_app());
  CHECK(without_id(app.head()) == "PUT /big HTTP/1.1\r\nhost: app.test\r\ncontent-length: 1048576\r\n\r\n");
  std::string got;
  while (got.size() < big.size()) {
    std::string piece = app.take(std::min<size_t>(4096, big.size() - got.size()));
    if (piece.empty()) break;
    got += piece;
  }
  writer.join();
  CHECK(got == big);
  REQUIRE(app.send(kOk));
  CHECK(c.message() == kOk);
}

TEST_CASE("responses framed by the connection's end, HEAD, 204 and the application's close are passed on") {
  HttpFixture f;
  Conn c(f.client());
  Conn app(f.accept_app());
  // HEAD: the length of the GET, no body; 204: no body.
  REQUIRE(c.send("HEAD /h HTTP/1.1\r\nHost: app.test\r\n\r\n"));
  CHECK(without_id(app.head()) == "HEAD /h HTTP/1.1\r\nhost: app.test\r\n\r\n");
  REQUIRE(app.send("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"));
  CHECK(c.head() == "HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n");
  REQUIRE(c.send(get("/none")));
  CHECK(without_id(app.head()) == app_get("/none") + "\r\n");
  REQUIRE(app.send("HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"));
  CHECK(c.head() == "HTTP/1.1 204 No Content\r\nx-a: 1\r\n\r\n");
  // A body that ends with the application's connection: chunked to the client, then closed.
  REQUIRE(c.send(get("/stream")));
  CHECK(without_id(app.head()) == app_get("/stream") + "\r\n");
  REQUIRE(app.send("HTTP/1.1 200 OK\r\n\r\nuntil "));
  REQUIRE(app.send("the end"));
  app.fd = base::Fd();
  CHECK(c.head() == "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n");
  CHECK(c.chunked() == "until the end");  // the last chunk says the body is whole
  CHECK(c.clean_eof());
}

TEST_CASE("the application's Connection: close ends the client's connection after the response") {
  HttpFixture f;
  Conn c(f.client());
  REQUIRE(c.send(get("/")));
  Conn app(f.accept_app());
  CHECK(!app.head().empty());
  REQUIRE(app.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"));
  CHECK(c.message() == "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
  CHECK(c.clean_eof());
  CHECK(app.clean_eof());
}

TEST_CASE("a client that half-closes after its request still gets the response, then the end") {
  HttpFixture f;
  Conn c(f.client());
  REQUIRE(c.send(get("/one") + get("/two")));
  ::shutdown(c.get(), SHUT_WR);
  Conn app(f.accept_app());
  CHECK(without_id(app.head()) == app_get("/one") + "\r\n");
  REQUIRE(app.send(kOk));
  CHECK(without_id(app.head()) == app_get("/two") + "\r\n");
  REQUIRE(app.send(kOk));
  CHECK(c.message() == kOk);
  CHECK(c.message() == "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
  CHECK(c.clean_eof());
}

TEST_CASE("an HTTP/1.0 request without Host is sent on with the address it came to") {
  HttpFixture f;
  Conn c(f.client());
  REQUIRE(c.send("GET /old HTTP/1.0\r\n\r\n"));
  Conn app(f.accept_app());
  CHECK(without_id(app.head()) ==
        fmt::format("GET /old HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n\r\n", f.app_addr.to_string()));
  REQUIRE(app.send(kOk));
  std::string head = c.head();
  CHECK(head.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(c.take(2) == "ok");
  CHECK(c.clean_eof());
}

TEST_CASE("an allowed request's 100-continue reaches the client before its body goes up") {
  HttpFixture f;
  Conn c(f.client());
  REQUIRE(c.send("PUT /e HTTP/1.1\r\nHost: app.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  Conn app(f.accept_app());
  CHECK(without_id(app.head()) ==
        "PUT /e HTTP/1.1\r\nhost: app.test\r\nexpect: 100-continue\r\ncontent-length: 5\r\n\r\n");
  REQUIRE(app.send("HTTP/1.1 100 Continue\r\n\r\n"));
  CHECK(c.head() == "HTTP/1.1 100 Continue\r\n\r\n");
  REQUIRE(c.send("hello"));
  CHECK(app.take(5) == "hello");
  REQUIRE(app.send(kOk));
  CHECK(c.message() == kOk);
}

TEST_CASE("paths are normalized before they go on, and a malformed one is refused") {
  HttpFixture f;
  Conn c(f.client());
  Conn app(f.accept_app());
  REQUIRE(c.send(get("/a/../b")));
  CHECK(without_id(app.head()) == app_get("/b") + "\r\n");
  REQUIRE(app.send(kOk));
  CHECK(c.message() == kOk);
  REQUIRE(c.send(get("/%zz")));
  CHECK(c.message() == "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
  CHECK(c.clean_eof());
  CHECK(app.clean_eof());
  CHECK(f.http().bad_paths.value() == 1);
}

TEST_CASE("after a 101 to an Upgrade request the bytes flow raw both ways") {
  HttpFixture f;
  Conn c(f.client());
  // The client's first frame follows its request in the same write (held until the 101).
  REQUIRE(c.send(get("/ws", "Connection: Upgrade\r\nUpgrade: websocket\r\n") + "\x81\x05" "early"));
  Conn app(f.accept_app());
  CHECK(without_id(app.head()) == app_get("/ws") + "upgrade: websocket\r\nconnection: upgrade\r\n\r\n");
  CHECK(app.buf.empty());
  // The application's first frame comes in the same write as its 101.
  REQUIRE(app.send("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x02hi"));
  CHECK(c.head() == "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n");
  CHECK(c.take(4) == "\x81\x02hi");
  CHECK(app.take(7) == "\x81\x05" "early");
  std::string raw = "GET / HTTP/1.1\r\n\r\n\x01\x02";  // looks like HTTP, is not parsed as such
  REQUIRE(c.send(raw));
  CHECK(app.take(raw.size()) == raw);
  ::shutdown(c.get(), SHUT_WR);
  CHECK(app.clean_eof());
  REQUIRE(app.send("bye"));
  app.fd = base::Fd();
  CHECK(c.take(3) == "bye");
  CHECK(c.clean_eof());
  CHECK(eventually([&] { return f.http().upgrades.value() == 1; }));
}

TEST_CASE("an Upgrade the application declines leaves the connection speaking HTTP/1.1") {
  HttpFixture f;
  Conn c(f.client());
  REQUIRE(c.send(get("/ws", "Connection: Upgrade\r\nUpgrade: websocket\r\n")));
  Conn app(f.accept_app());
  CHECK(without_id(app.head()) == app_get("/ws") + "upgrade: websocket\r\nconnection: upgrade\r\n\r\n");
  REQUIRE(app.send(kOk));
  CHECK(c.message() == kOk);
  round_trip(c, app, "/plain");
  CHECK(f.http().upgrades.value() == 0);
}

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

TEST_CASE("HTTP/2 with prior knowledge is relayed as bytes, not inspected yet") {
  HttpFixture f({.authorize = false});
  Conn c(f.client());
  std::string bytes = std::string(tunnel::http::kH2Preface) + std::string("\x00\x00\x00\x04\x00\x00\x00\x00\x00", 9);
  REQUIRE(c.send(bytes));  // the preface and an empty SETTINGS frame
  Conn app(f.accept_app());
  CHECK(app.take(bytes.size()) == bytes);
  CHECK(f.detections(DetectOutcome::SniffedHttp2) == 1);
  CHECK(f.http().http2_opaque.value() == 1);
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
