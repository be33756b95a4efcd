#include "daemon/admin/http_server.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include <doctest/doctest.h>

#include "daemon/io/socket.hpp"

using namespace mesh;
using namespace std::chrono_literals;

namespace {

struct ServerFixture {
  explicit ServerFixture(base::Duration timeout = 2s, unsigned max_conns = 8) {
    router.add("GET", "/hello", [](const admin::Request&) { return admin::Response::text("hi\n"); });
    loop = std::move(io::Loop::create({}).value());
    auto l = io::listen_tcp(base::SocketAddr::parse("127.0.0.1:0").value(), {.reuse_port = false});
    REQUIRE(l);
    addr = io::local_address(l->get()).value();
    server = std::make_unique<admin::HttpServer>(*loop, router,
        admin::HttpServerOptions{.name = "test", .request_timeout = timeout, .max_connections = max_conns,
                                 .limits = {.max_header_bytes = 1024, .max_headers = 20, .max_body_bytes = 1024}},
        std::move(*l));
    thread = std::thread([this] {
      server->start();
      REQUIRE(loop->run());
    });
  }
  ~ServerFixture() {
    loop->post([this] { server->stop(); });
    loop->request_stop();
    thread.join();
    server.reset();
  }
  base::Fd client() {
    base::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_storage ss;
    socklen_t len = addr.to_sockaddr(ss);
    REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0);
    timeval tv{5, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
  }
  admin::Router router;
  std::unique_ptr<io::Loop> loop;
  std::unique_ptr<admin::HttpServer> server;
  base::SocketAddr addr;
  std::thread thread;
};

std::string exchange(int fd, std::string_view request, bool until_eof) {
  REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size()));
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (!until_eof && out.find("\r\n\r\n") != std::string::npos) {
      auto cl = out.find("Content-Length: ");
      size_t body = std::stoul(out.substr(cl + 16));
      if (out.size() >= out.find("\r\n\r\n") + 4 + body) break;
    }
  }
  return out;
}

}  // namespace

TEST_CASE("keep-alive requests are answered on one connection") {
  ServerFixture f;
  base::Fd c = f.client();
  for (int i = 0; i < 3; ++i) {
    auto r = exchange(c.get(), "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", false);
    CHECK(r.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(r.find("\r\n\r\nhi\n") != std::string::npos);
  }
}

TEST_CASE("pipelined requests get their responses in order") {
  ServerFixture f;
  base::Fd c = f.client();
  auto r = exchange(c.get(), "GET /hello HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\nConnection: close\r\n\r\n", true);
  auto first = r.find("HTTP/1.1 200");
  auto second = r.find("HTTP/1.1 404");
  CHECK(first == 0);
  CHECK(second != std::string::npos);
}

TEST_CASE("garbage gets a 400 and the server keeps serving others") {
  ServerFixture f;
  base::Fd bad = f.client();
  static const char kGarbage[] = "\x16\x03\x01\x00\xff garbage\r\n\r\n";
  auto r = exchange(bad.get(), std::string(kGarbage, sizeof kGarbage - 1), true);
  CHECK(r.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
  base::Fd good = f.client();
  CHECK(exchange(good.get(), "GET /hello HTTP/1.1\r\n\r\n", false).find("200 OK") != std::string::npos);
}

TEST_CASE("a client that sends nothing is closed after the request timeout") {
  ServerFixture f(200ms);
  base::Fd c = f.client();
  auto start = std::chrono::steady_clock::now();
  char b;
  ssize_t got;
  do {
    got = ::recv(c.get(), &b, 1, 0);  // a blocking call may see EINTR when a ring of this process is torn down
  } while (got < 0 && errno == EINTR);
  CHECK(got == 0);
  CHECK(std::chrono::steady_clock::now() - start >= 200ms);
  base::Fd partial = f.client();
  auto r = exchange(partial.get(), "GET /hel", true);
  CHECK(r.rfind("HTTP/1.1 408", 0) == 0);
}

TEST_CASE("oversized headers get 431 and connections over the limit are refused") {
  ServerFixture f(2s, 2);
  base::Fd big = f.client();
  auto r = exchange(big.get(), "GET /hello HTTP/1.1\r\nX: " + std::string(2000, 'a') + "\r\n\r\n", true);
  CHECK(r.rfind("HTTP/1.1 431", 0) == 0);
  base::Fd a = f.client(), b = f.client();
  std::this_thread::sleep_for(50ms);
  base::Fd c = f.client();
  char buf[64];
  CHECK(::recv(c.get(), buf, sizeof buf, 0) <= 0);
  CHECK(exchange(a.get(), "GET /hello HTTP/1.1\r\n\r\n", false).find("200 OK") != std::string::npos);
}
