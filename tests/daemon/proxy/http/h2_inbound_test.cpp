// H2Inbound on a real worker with loopback sockets: an h2c client (tunnel/http's H2Client
// driven over a blocking socket) through the worker's listener to an h2c application
// (H2Server, same way). The listener's destination marks flows as an inbound port declared
// http2 and installs a policy that allows only /public/* on the worker's thread.
#include "daemon/proxy/http/h2_inbound.hpp"

#include "daemon/proxy/mesh_view.hpp"
#include "daemon/telemetry/exposition.hpp"
#include "daemon/telemetry/request_metrics.hpp"
#include "policy/toml/codec.hpp"
#include "tests/daemon/proxy/http/h2_peers.hpp"
#include "tests/daemon/proxy/relay_fixture.hpp"
#include "tunnel/http/grpc.hpp"

using namespace mesh;
using namespace mesh::testing;
using namespace mesh::testing::h2;
namespace http = mesh::tunnel::http;

namespace {

constexpr const char* kPolicy = R"(
[[workload]]
name = "app"
namespace = "test"
service_account = "app"
addresses = ["127.0.0.1"]
labels = { app = "app" }

[[authorization]]
name = "public-only"
namespace = "test"
selector = { app = "app" }
action = "allow"
[[authorization.rules]]
to = [{ paths = ["/public/*"] }]
)";

std::shared_ptr<const proxy::MeshView> make_view() {
  std::vector<policy::SourceFile> files{{"mesh.toml", kPolicy}};
  auto r = policy::load_policy_sources(files, policy::CompileOptions{});
  for (const auto& e : r.errors) FAIL(e.to_string());
  REQUIRE(r.ok());
  auto v = std::make_shared<proxy::MeshView>();
  v->policy = r.policy;
  return v;
}

// The worker, with request metrics, serving flows as an inbound port declared http2.
struct Fixture {
  explicit Fixture(const base::SocketAddr& app, http::DeclaredProtocol declared = http::DeclaredProtocol::Http2)
      : metrics(1), budget(100) {
    auto w = proxy::Worker::create({.index = 0, .ring_entries = 256, .buffer_size = 16384, .buffer_count = 64,
                                    .requests = &metrics.recorder(0)},
                                   budget);
    REQUIRE(w);
    worker = std::move(*w);
    auto l = io::listen_tcp(base::SocketAddr::parse("127.0.0.1:0").value());
    REQUIRE(l);
    listen = io::local_address(l->get()).value();
    auto profile = std::make_shared<proxy::DialProfile>();
    profile->name = "test";
    profile->connect_timeout = 5s;
    profile->idle_timeout = 1h;
    auto view = make_view();
    auto destination = [app, view, declared](int fd) {
      proxy::install_view(view);  // on the worker's thread, as the control thread would post it
      proxy::FlowTarget t = proxy::FlowTarget::to(app);
      proxy::FlowAttrs a;
      a.source = io::peer_address(fd).value();
      a.destination = app;
      a.per_request = true;
      a.declared = declared;
      t.attrs = a;
      return t;
    };
    worker->add_listener(proxy::ListenerSpec{1, std::move(*l), profile, stats, std::move(destination)});
    thread = std::thread([this] { REQUIRE(worker->run()); });
  }
  ~Fixture() {
    worker->stop();
    thread.join();
  }
  const proxy::HttpStats& http() const { return worker->http_stats(); }
  std::string scrape() const {
    telemetry::Exposition e;
    metrics.collect(e);
    return e.text();
  }

  telemetry::RequestMetrics metrics;
  proxy::ConnectionBudget budget;
  std::shared_ptr<proxy::RelayStats> stats = std::make_shared<proxy::RelayStats>();
  std::unique_ptr<proxy::Worker> worker;
  base::SocketAddr listen;
  std::thread thread;
};

bool has_series(const std::string& text, std::initializer_list<std::string_view> labels) {
  for (size_t pos = 0; (pos = text.find("istio_requests_total{", pos)) != std::string::npos; ++pos) {
    std::string line = text.substr(pos, text.find('\n', pos) - pos);
    bool all = true;
    for (auto l : labels) all = all && line.find(l) != std::string::npos;
    if (all) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("streams on one connection are proxied one by one: a denied one is answered 403 and the others carry on") {
  App app;
  Fixture f(app.upstream.addr);
  Client c(f.listen);
  auto a = c.open("GET", "/public/a");
  auto denied = c.open("GET", "/private");
  auto echo = c.open("POST", "/public/echo", {{"x-request-id", "given"}}, "hello");
  auto dots = c.open("GET", "/public/../private");
  REQUIRE(c.run({a, denied, echo, dots}));
  CHECK(c.seen[a].status == 200);
  CHECK(c.seen[a].body == "ok");
  CHECK(c.seen[denied].status == 403);
  CHECK(c.seen[denied].body == "RBAC: access denied");
  CHECK(c.seen[dots].status == 403);  // normalized to /private before it was judged
  CHECK(c.seen[echo].status == 200);
  CHECK(c.seen[echo].body == "hello");
  CHECK(c.seen[echo].trailers == http::HeaderMap{{"x-sum", "5"}});
  auto heads = app.seen_heads();
  REQUIRE(heads.size() == 2);  // the denied ones never reached the application
  for (const auto& h : heads) {
    CHECK(h.path.starts_with("/public/"));
    const std::string* id = h.headers.get("x-request-id");
    REQUIRE(id != nullptr);
    if (h.path == "/public/echo") CHECK(*id == "given");
    else CHECK(id->size() == 36);
  }
  CHECK(f.http().h2_streams.value() == 4);
  CHECK(f.http().denied.value() == 2);
  CHECK(eventually([&] { return has_series(f.scrape(), {"response_code=\"403\"", "request_protocol=\"http\""}); }));
}

TEST_CASE("gRPC: an allowed call gets its message and grpc-status trailers, a denied one PERMISSION_DENIED trailers-only") {
  App app;
  Fixture f(app.upstream.addr);
  Client c(f.listen);
  auto ok = c.open("POST", "/public/grpc", {}, std::string("\0\0\0\0\1x", 6), true);
  auto denied = c.open("POST", "/pkg.Svc/Secret", {}, std::string("\0\0\0\0\1x", 6), true);
  REQUIRE(c.run({ok, denied}));
  CHECK(c.seen[ok].status == 200);
  CHECK(c.seen[ok].body == std::string("\0\0\0\0\3abc", 8));
  CHECK(c.seen[ok].trailers == http::HeaderMap{{"grpc-status", "0"}});
  const Seen& d = c.seen[denied];
  CHECK(d.status == 200);
  CHECK(d.body.empty());
  REQUIRE(d.headers.get("grpc-status") != nullptr);
  CHECK(*d.headers.get("grpc-status") == "7");
  REQUIRE(d.headers.get("grpc-message") != nullptr);
  CHECK(*d.headers.get("grpc-message") == "RBAC: access denied");
  CHECK(*d.headers.get("content-type") == "application/grpc");
  CHECK(eventually([&] {
    std::string t = f.scrape();
    return has_series(t, {"request_protocol=\"grpc\"", "grpc_response_status=\"7\""}) &&
           has_series(t, {"request_protocol=\"grpc\"", "grpc_response_status=\"0\""});
  }));
}

TEST_CASE("an RST_STREAM from the application reaches the client with its code, and the client's reaches the application") {
  App app;
  Fixture f(app.upstream.addr);
  Client c(f.listen);
  auto reset = c.open("GET", "/public/reset");
  auto fine = c.open("GET", "/public/after");
  REQUIRE(c.run({reset, fine}));
  CHECK(c.seen[reset].closed_code == 0xd);
  CHECK(c.seen[fine].status == 200);
  // The client resets a stream the application holds open: the application hears CANCEL.
  auto hold = c.open("POST", "/public/hold", {}, "part");
  for (int i = 0; i < 20; ++i) c.peer.step([&](const http::Event& ev) { c.on(ev); });
  c.client->reset(hold, 0x8);
  CHECK(eventually([&] {
    c.peer.step([&](const http::Event& ev) { c.on(ev); }, 5);
    return app.seen_resets().count("/public/hold") == 1;
  }));
  CHECK(app.seen_resets()["/public/hold"] == 0x8);
  CHECK(f.http().h2_resets[0].value() == 1);
  CHECK(f.http().h2_resets[1].value() == 1);
}

TEST_CASE("the application's connection failing before a response head: 503 for HTTP, UNAVAILABLE for gRPC") {
  App app(2);  // closes its connection once two requests arrived, answering neither
  Fixture f(app.upstream.addr);
  Client c(f.listen);
  auto h = c.open("GET", "/public/hold");
  auto g = c.open("POST", "/public/hold", {}, std::string("\0\0\0\0\1x", 6), true);
  REQUIRE(c.run({h, g}));
  CHECK(c.seen[h].status == 503);
  CHECK(c.seen[g].status == 200);
  REQUIRE(c.seen[g].headers.get("grpc-status") != nullptr);
  CHECK(*c.seen[g].headers.get("grpc-status") == "14");
  CHECK(eventually([&] { return f.stats->active.value() == 0; }));  // and the flow ended
}

TEST_CASE("bodies larger than the HTTP/2 windows flow both ways with back-pressure") {
  App app;
  Fixture f(app.upstream.addr);
  Client c(f.listen);
  std::string big(9 * 1024 * 1024 + 5, '\0');  // over the 4 MiB stream window, both ways
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 23);
  auto echo = c.open("POST", "/public/echo", {}, big);
  bool done = c.run({echo});
  INFO(c.why, "; response ", c.seen[echo].status, ", ", c.seen[echo].body.size(), " bytes, closed ",
       c.seen[echo].closed, " code ", c.seen[echo].closed_code, "; sent all ", c.pending.empty());
  REQUIRE(done);
  CHECK(c.seen[echo].status == 200);
  CHECK(c.seen[echo].body.size() == big.size());
  CHECK(c.seen[echo].body == big);
  CHECK(c.seen[echo].trailers == http::HeaderMap{{"x-sum", std::to_string(big.size())}});
}

TEST_CASE("the client's connection ending cancels its open streams at the application and ends the flow") {
  App app;
  Fixture f(app.upstream.addr);
  Client c(f.listen);
  auto hold = c.open("GET", "/public/hold");
  CHECK(eventually([&] {
    c.peer.step([&](const http::Event& ev) { c.on(ev); }, 5);
    return app.seen_heads().size() == 1;
  }));
  (void)hold;
  ::shutdown(c.fd.get(), SHUT_WR);
  CHECK(eventually([&] { return app.seen_resets().count("/public/hold") == 1; }));
  CHECK(app.seen_resets()["/public/hold"] == 0x8);  // CANCEL
  CHECK(f.http().h2_resets[1].value() == 0);         // ours, not passed on from the application
  CHECK(eventually([&] { return f.stats->active.value() == 0; }));
  CHECK(eventually([&] { return has_series(f.scrape(), {"response_flags=\"DC\"", "response_code=\"0\""}); }));
}

TEST_CASE("sniffed: an h2c application's SETTINGS sent before the client's preface does not make it server-first") {
  App app;
  Fixture f(app.upstream.addr, http::DeclaredProtocol::Undeclared);
  Client c(f.listen);
  std::this_thread::sleep_for(200ms);  // the application's SETTINGS reach meshd first
  auto a = c.open("GET", "/public/a");
  REQUIRE(c.run({a}));
  CHECK(c.seen[a].status == 200);
  CHECK(c.seen[a].body == "ok");
  CHECK(f.http().detections[static_cast<size_t>(http::DetectOutcome::SniffedHttp2)].value() == 1);
  CHECK(f.http().detections[static_cast<size_t>(http::DetectOutcome::Opaque)].value() == 0);
}
