#pragma once
// Test peers for h2_inbound_test: tunnel/http's own HTTP/2 engines driven over blocking
// loopback sockets by a test thread — Client (the downstream h2c client) and App (an h2c
// application whose answers depend on the path).
#include <poll.h>

#include <functional>
#include <map>
#include <mutex>

#include "tests/daemon/proxy/relay_fixture.hpp"
#include "tunnel/http/h2_client.hpp"
#include "tunnel/http/h2_server.hpp"

namespace mesh::testing::h2 {

namespace http = mesh::tunnel::http;

inline std::span<const uint8_t> bytes_of(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }
inline std::string text_of(std::span<const uint8_t> b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

// An H2 engine over a blocking socket, pumped by the calling thread.
struct Peer {
  int fd = -1;
  http::VectorSink sink;
  http::H2Connection* engine = nullptr;
  bool eof = false;

  void flush() {
    engine->flush();
    if (!sink.bytes().empty()) {
      send_all(fd, text_of(sink.bytes()));
      sink.bytes().clear();
    }
  }
  // Sends what is pending, then reads for up to `wait`; events go to `on`.
  void step(const std::function<void(const http::Event&)>& on, int wait_ms = 20) {
    flush();
    pollfd p{fd, POLLIN, 0};
    if (!eof && ::poll(&p, 1, wait_ms) > 0) {
      // What is there, up to 1 MiB per step.
      char buf[65536];
      for (int i = 0; i < 16; ++i) {
        ssize_t n = ::recv(fd, buf, sizeof buf, i == 0 ? 0 : MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
        if (n <= 0) {
          eof = true;
          break;
        }
        (void)engine->receive(bytes_of({buf, static_cast<size_t>(n)}));
      }
    }
    http::Event ev;
    while (engine->next_event(ev)) on(ev);
    flush();
  }
};

// What one client stream saw.
struct Seen {
  int status = 0;
  http::HeaderMap headers;
  std::string body;
  http::HeaderMap trailers;
  bool ended = false;
  uint32_t closed_code = 0;
  bool closed = false;
};

// The test's client: opens streams, collects what comes back.
struct Client {
  explicit Client(const base::SocketAddr& to) : fd(connect_to(to)) {
    REQUIRE(fd);
    auto c = http::H2Client::create(peer.sink, base::SystemClock::instance());
    REQUIRE(c);
    client = std::move(*c);
    peer.fd = fd.get();
    peer.engine = client.get();
  }
  http::StreamId open(const std::string& method, const std::string& path, http::HeaderMap headers = {},
                      std::string body = {}, bool grpc = false) {
    http::RequestHead h;
    h.method = method;
    h.scheme = "http";
    h.authority = "app.test";
    h.path = path;
    h.headers = std::move(headers);
    if (grpc) {
      h.headers.add("content-type", "application/grpc");
      h.headers.add("te", "trailers");
    }
    auto id = client->open(h, body.empty());
    REQUIRE(id);
    if (!body.empty()) {
      pending[*id] = std::move(body);
      feed(*id);
    }
    seen[*id];
    return *id;
  }
  void feed(http::StreamId id) {
    auto it = pending.find(id);
    if (it == pending.end()) return;
    while (!it->second.empty()) {
      size_t n = std::min<size_t>(it->second.size(), 256 * 1024);
      bool more = client->write(id, bytes_of(std::string_view(it->second).substr(0, n)));
      it->second.erase(0, n);
      if (!more) return;
    }
    client->close_write(id);
    pending.erase(it);
  }
  // Pumps until every stream in `ids` is closed (or 10 s).
  bool run(std::initializer_list<http::StreamId> ids) {
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      bool all = true;
      for (auto id : ids) all = all && seen[id].closed;
      if (all) return true;
      if (peer.eof) {
        why = "the connection closed";
        return false;
      }
      peer.step([this](const http::Event& ev) { on(ev); });
    }
    why = "timed out";
    return false;
  }
  void on(const http::Event& ev) {
    Seen& s = seen[ev.stream];
    switch (ev.kind) {
      case http::EventKind::Response:
        s.status = static_cast<int>(ev.code);
        s.headers = client->response(ev.stream)->headers;
        break;
      case http::EventKind::Data: {
        auto b = client->peek(ev.stream);
        while (!b.empty()) {
          s.body += text_of(b);
          client->consume(ev.stream, b.size());
          b = client->peek(ev.stream);
        }
        break;
      }
      case http::EventKind::PeerEnd: {
        auto b = client->peek(ev.stream);
        while (!b.empty()) {
          s.body += text_of(b);
          client->consume(ev.stream, b.size());
          b = client->peek(ev.stream);
        }
        s.ended = true;
        if (const auto* t = client->trailers(ev.stream)) s.trailers = *t;
        break;
      }
      case http::EventKind::Writable:
        feed(ev.stream);
        break;
      case http::EventKind::Closed:
        s.closed = true;
        s.closed_code = ev.code;
        client->release(ev.stream);
        break;
      default:
        break;
    }
  }

  base::Fd fd;
  Peer peer;
  std::unique_ptr<http::H2Client> client;
  std::map<http::StreamId, Seen> seen;
  std::map<http::StreamId, std::string> pending;
  std::string why;  // why run() returned false
};

// The application: an h2c server whose answer depends on the path.
//   /public/echo    200, the request body back, trailer x-sum: <bytes>
//   /public/grpc    gRPC: 200 application/grpc, one message, trailers grpc-status 0
//   /public/reset   RST_STREAM HTTP_1_1_REQUIRED (0xd) right after a response head
//   /public/hold    never answers (its connection closes when `close_after` requests came)
//   anything else   200 "ok"
struct App {
  struct Request {
    std::string path;
    http::HeaderMap headers;
    std::string body;
    uint32_t reset_code = 0;  // the client's RST_STREAM, if any
  };
  explicit App(int close_after = 0)
      : upstream([this, close_after](int fd) { serve(fd, close_after); }) {}

  void serve(int fd, int close_after) {
    Peer peer;
    peer.fd = fd;
    auto s = http::H2Server::create(peer.sink, base::SystemClock::instance());
    REQUIRE(s);
    http::H2Server& srv = **s;
    peer.engine = &srv;
    std::map<http::StreamId, Request> reqs;
    int count = 0;
    auto deadline = std::chrono::steady_clock::now() + 40s;
    while (!peer.eof && std::chrono::steady_clock::now() < deadline) {
      auto on = [&](const http::Event& ev) {
        Request& r = reqs[ev.stream];
        switch (ev.kind) {
          case http::EventKind::Request: {
            const http::RequestHead* h = srv.request(ev.stream);
            r.path = h->path;
            r.headers = h->headers;
            {
              std::lock_guard<std::mutex> l(mu);
              heads.push_back(*h);
            }
            ++count;
            if (r.path == "/public/reset") {
              (void)srv.respond(ev.stream, http::ResponseHead{.status = 200}, false);
              srv.reset(ev.stream, 0xd);
            }
            break;
          }
          case http::EventKind::Data:
          case http::EventKind::PeerEnd: {
            auto b = srv.peek(ev.stream);
            while (!b.empty()) {
              r.body += text_of(b);
              srv.consume(ev.stream, b.size());
              b = srv.peek(ev.stream);
            }
            if (ev.kind != http::EventKind::PeerEnd) break;
            if (r.path == "/public/echo") {
              (void)srv.respond(ev.stream, http::ResponseHead{.status = 200}, false);
              srv.write(ev.stream, bytes_of(r.body));
              (void)srv.close_write(ev.stream, http::HeaderMap{{"x-sum", std::to_string(r.body.size())}});
            } else if (r.path == "/public/grpc") {
              http::ResponseHead h{.status = 200};
              h.headers.add("content-type", "application/grpc");
              (void)srv.respond(ev.stream, h, false);
              srv.write(ev.stream, bytes_of(std::string("\0\0\0\0\3abc", 8)));
              (void)srv.close_write(ev.stream, http::HeaderMap{{"grpc-status", "0"}});
            } else if (r.path != "/public/hold" && r.path != "/public/reset") {
              (void)srv.respond(ev.stream, http::ResponseHead{.status = 200}, false);
              srv.write(ev.stream, bytes_of("ok"));
              srv.close_write(ev.stream);
            }
            break;
          }
          case http::EventKind::Closed: {
            std::lock_guard<std::mutex> l(mu);
            if (ev.code != 0) resets[r.path] = ev.code;
            srv.release(ev.stream);
            break;
          }
          default:
            break;
        }
      };
      peer.step(on);
      if (close_after > 0 && count >= close_after) {
        ::shutdown(fd, SHUT_RDWR);
        return;
      }
    }
  }
  std::vector<http::RequestHead> seen_heads() {
    std::lock_guard<std::mutex> l(mu);
    return heads;
  }
  std::map<std::string, uint32_t> seen_resets() {
    std::lock_guard<std::mutex> l(mu);
    return resets;
  }

  std::mutex mu;
  std::vector<http::RequestHead> heads;
  std::map<std::string, uint32_t> resets;
  Upstream upstream;
};

}  // namespace mesh::testing::h2
