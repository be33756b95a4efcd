#pragma once
// Test fixture shared by the HttpConnection suites: a worker serving a capture-like inbound
// listener for a workload at 127.0.0.1 under a small policy, a scripted application and
// blocking client helpers.
#include <fmt/format.h>
#include <netinet/tcp.h>

#include <future>
#include <regex>

#include "daemon/proxy/decide.hpp"
#include "daemon/proxy/http/http_connection.hpp"
#include "daemon/proxy/http/http_stats.hpp"
#include "daemon/proxy/mesh_view.hpp"
#include "daemon/telemetry/request_metrics.hpp"
#include "policy/toml/codec.hpp"
#include "tests/daemon/proxy/relay_fixture.hpp"

namespace http_connection_test {

using namespace mesh;
using namespace mesh::testing;
using tunnel::http::DetectOutcome;
using tunnel::http::H1Error;

struct Setup {
  bool declare_http = false;  // a service port says protocol = "http" (else sniffed)
  bool authorize = true;      // the rules below (else everything is allowed)
};

// The workload at 127.0.0.1; with `authorize` it takes GET, HEAD and PUT, and nothing carrying
// x-block: yes.
inline std::string policy_text(uint16_t app_port, Setup setup) {
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

inline policy::PolicySnapshot compile(const std::string& text) {
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

inline std::string get(std::string_view path, std::string_view extra = "") {
  return fmt::format("GET {} HTTP/1.1\r\nHost: app.test\r\n{}\r\n", path, extra);
}
inline std::string app_get(std::string_view path) { return fmt::format("GET {} HTTP/1.1\r\nhost: app.test\r\n", path); }

// The x-request-id field of `head` when it is a version 4 UUID (as the proxy adds), else "".
inline std::string request_id(const std::string& head) {
  static const std::regex kId("\r\nx-request-id: ([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})\r\n");
  std::smatch m;
  return std::regex_search(head, m, kId) ? m[1].str() : "";
}
// `head` without its x-request-id field (checked apart: its value is random).
inline std::string without_id(const std::string& head) {
  auto at = head.find("\r\nx-request-id: ");
  if (at == std::string::npos) return head;
  return head.substr(0, at) + head.substr(head.find("\r\n", at + 2));
}

// A GET from `c` answered by `app` (already accepted) with kOk.
inline void round_trip(Conn& c, Conn& app, std::string_view path) {
  REQUIRE(c.send(get(path)));
  CHECK(without_id(app.head()) == app_get(path) + "\r\n");
  REQUIRE(app.send(kOk));
  CHECK(c.message() == kOk);
}


}  // namespace http_connection_test
