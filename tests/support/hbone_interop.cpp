// hbone_interop: a test-only tool that puts meshd's TLS and HBONE engines on a blocking
// loopback socket, so implementations we did not write (python3-h2 over Python's ssl,
// openssl s_client) can talk to them. Not part of the daemon; 127.0.0.1 only.
//
//   hbone_interop pki --dir DIR
//       DIR/{server,client,other-td-client}: PEM directories from a fresh built-in CA
//   hbone_interop serve --certs DIR [--connections N] [--timeout-ms T]
//       prints "port P", then serves N connections: CONNECT to port 9 -> 503, port 13 ->
//       403, anything else -> 200 and every byte echoed back; half-close is echoed too.
//       Each connection ends with "tls <reason>" / "h2 <reason>" lines on stdout.
//   hbone_interop connect --certs DIR --port P --expect SPIFFE --authority A --in FILE --out FILE
//       one CONNECT; sends FILE, half-closes, writes what comes back to --out; prints the
//       response status.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "daemon/base/clock.hpp"
#include "daemon/base/fd.hpp"
#include "daemon/identity/cert_files.hpp"
#include "tunnel/hbone/hbone_client.hpp"
#include "tunnel/hbone/hbone_server.hpp"
#include "tunnel/hbone/tls_sink.hpp"
#include "tunnel/tls/tls_context.hpp"
#include "tunnel/tls/tls_session.hpp"

using namespace mesh;
namespace hb = mesh::tunnel::hbone;
namespace http = mesh::tunnel::http;
using SteadyClock = std::chrono::steady_clock;

namespace {

[[noreturn]] void die(const std::string& m) {
  std::fprintf(stderr, "hbone_interop: %s\n", m.c_str());
  std::exit(2);
}

std::shared_ptr<const tunnel::TlsContext> context(const std::string& dir, tunnel::TlsRole role) {
  auto creds = identity::load_credentials(dir, base::SystemClock::instance().wall());
  if (!creds) die(creds.error().message());
  auto ctx = tunnel::TlsContext::create(role, *creds, base::SystemClock::instance());
  if (!ctx) die(ctx.error().message());
  return *ctx;
}

bool send_all(int fd, base::ByteQueue& out) {
  while (!out.empty()) {
    iovec iov[16];
    size_t n = out.gather(iov);
    ssize_t w = ::writev(fd, iov, static_cast<int>(n));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    out.consume(static_cast<size_t>(w));
  }
  return true;
}

// One connection's loop: socket <-> TLS <-> HTTP/2, until done or the deadline. `on_events`
// is called after every input batch; returns false to stop.
template <class OnEvents>
void drive(int fd, tunnel::TlsSession& tls, http::H2Connection& h2, SteadyClock::time_point deadline, OnEvents on_events) {
  std::vector<uint8_t> in(256 * 1024), plain(256 * 1024);
  bool eof = false;
  while (SteadyClock::now() < deadline) {
    h2.flush();
    tls.flush();
    if (!send_all(fd, tls.output())) return;
    if (tls.state() == tunnel::TlsState::Failed || h2.done() || eof) return;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    ssize_t n = ::read(fd, in.data(), in.size());
    if (n <= 0) {
      tls.receive_eof();
      eof = true;
      continue;
    }
    std::span<const uint8_t> rest(in.data(), static_cast<size_t>(n));
    while (!rest.empty() || tls.state() == tunnel::TlsState::Established) {
      auto pr = tls.receive(rest, plain);
      rest = rest.subspan(pr.consumed);
      if (pr.produced > 0) (void)h2.receive({plain.data(), pr.produced});
      if (pr.consumed == 0 && pr.produced == 0) break;
    }
    if (!on_events()) return;
  }
}

void serve_events(hb::HboneServer& h2) {
  http::Event ev;
  while (h2.next_event(ev)) {
    switch (ev.kind) {
      case http::EventKind::Request: {
        const hb::ConnectRequest* r = h2.request(ev.stream);
        uint16_t port = r && r->target ? r->target->port() : 0;
        int status = port == 9 ? 503 : port == 13 ? 403 : 200;
        (void)h2.respond(ev.stream, status, {{"baggage", "k8s.namespace.name=interop"}});
        std::printf("request %d %s traceparent=%s status %d\n", ev.stream, r ? r->authority.c_str() : "?",
                    r ? r->traceparent.c_str() : "", status);
        break;
      }
      case http::EventKind::Data:
        while (h2.readable(ev.stream) > 0) {
          auto chunk = h2.peek(ev.stream);
          h2.write(ev.stream, chunk);
          h2.consume(ev.stream, chunk.size());
        }
        break;
      case http::EventKind::PeerEnd: h2.close_write(ev.stream); break;
      case http::EventKind::Closed: h2.release(ev.stream); break;
      case http::EventKind::StreamRejected:
        std::printf("rejected %d %s\n", ev.stream, std::string(hb::to_string(static_cast<hb::StreamReject>(ev.code))).c_str());
        break;
      default: break;
    }
  }
  std::fflush(stdout);
}

int cmd_serve(const std::string& certs, int connections, int timeout_ms) {
  auto ctx = context(certs, tunnel::TlsRole::Server);
  base::Fd lfd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(lfd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(lfd.get(), 16) != 0 ||
      ::getsockname(lfd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    die("cannot listen on 127.0.0.1");
  }
  std::printf("port %d\n", ntohs(addr.sin_port));
  std::fflush(stdout);
  auto deadline = SteadyClock::now() + std::chrono::milliseconds(timeout_ms);
  for (int i = 0; i < connections && SteadyClock::now() < deadline; ++i) {
    pollfd p{lfd.get(), POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) break;
    base::Fd fd(::accept4(lfd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd) continue;
    auto tls = *tunnel::TlsSession::server(ctx);
    hb::TlsSink sink(tls);
    auto h2 = std::move(*hb::HboneServer::create(sink, base::SystemClock::instance()));
    drive(fd.get(), tls, *h2, deadline, [&] { serve_events(*h2); return true; });
    std::printf("tls %s %s\n", std::string(tunnel::to_string(tls.failure())).c_str(), tls.failure_detail().c_str());
    std::printf("h2 %s\n", std::string(http::to_string(h2->failure())).c_str());
    std::fflush(stdout);
  }
  return 0;
}

struct ConnectArgs {
  std::string certs, expect, authority, in, out, traceparent;
  int port = 0;
  int timeout_ms = 10000;
};

int cmd_connect(const ConnectArgs& a) {
  std::ifstream in_file(a.in, std::ios::binary);
  std::vector<uint8_t> payload((std::istreambuf_iterator<char>(in_file)), std::istreambuf_iterator<char>());
  auto expect = tunnel::SpiffeId::parse(a.expect);
  if (!expect) die(expect.error().message());
  auto tls = *tunnel::TlsSession::client(context(a.certs, tunnel::TlsRole::Client), {*expect});
  hb::TlsSink sink(tls);
  auto h2 = std::move(*hb::HboneClient::create(sink, base::SystemClock::instance()));
  base::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(a.port));
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("cannot connect");
  auto id = h2->open(hb::ConnectRequest{.authority = a.authority, .traceparent = a.traceparent});
  if (!id) die(id.error().message());
  size_t sent = 0;
  std::vector<uint8_t> received;
  bool ended = false;
  auto pump = [&] {
    while (sent < payload.size() && h2->send_buffered(*id) < (1 << 20)) {
      size_t n = std::min<size_t>(64 * 1024, payload.size() - sent);
      h2->write(*id, {payload.data() + sent, n});
      sent += n;
      if (sent == payload.size()) h2->close_write(*id);
    }
    http::Event ev;
    while (h2->next_event(ev)) {
      if (ev.kind == http::EventKind::Response) std::printf("status %u\n", ev.code);
      if (ev.kind == http::EventKind::Closed) ended = true;
    }
    while (h2->readable(*id) > 0) {
      auto chunk = h2->peek(*id);
      received.insert(received.end(), chunk.begin(), chunk.end());
      h2->consume(*id, chunk.size());
    }
    if (h2->peer_ended(*id)) ended = true;
    return !ended;
  };
  if (payload.empty()) h2->close_write(*id);
  pump();
  drive(fd.get(), tls, *h2, SteadyClock::now() + std::chrono::milliseconds(a.timeout_ms), pump);
  std::ofstream(a.out, std::ios::binary).write(reinterpret_cast<const char*>(received.data()),
                                               static_cast<std::streamsize>(received.size()));
  std::printf("tls %s %s\nreceived %zu\n", std::string(tunnel::to_string(tls.failure())).c_str(),
              tls.failure_detail().c_str(), received.size());
  return ended ? 0 : 1;
}

int cmd_pki(const std::string& dir) {
  auto now = base::SystemClock::instance().wall();
  auto ca = tunnel::CertificateAuthority::create_root("cluster.local", now, std::chrono::hours(24));
  if (!ca) die(ca.error().message());
  auto write = [&](const char* sub, const char* id) {
    auto issued = ca->issue(*tunnel::SpiffeId::parse(id), now, std::chrono::hours(1));
    if (!issued || !identity::save_issued(dir + "/" + sub, *issued)) die(std::string("cannot write ") + sub);
  };
  write("server", "spiffe://cluster.local/ns/interop/sa/server");
  write("client", "spiffe://cluster.local/ns/interop/sa/client");
  tunnel::LeafSpec foreign{{"spiffe://evil.example/ns/x/sa/y"}, now - std::chrono::minutes(5), now + std::chrono::hours(1)};
  auto other = ca->issue_leaf(foreign);
  if (!other || !identity::save_issued(dir + "/other-td-client", *other)) die("cannot write other-td-client");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("hbone_interop: meshd's TLS+HBONE engines on a loopback socket (tests only)");
  app.require_subcommand(1);
  std::string pki_dir;
  auto* pki = app.add_subcommand("pki", "write a CA and server/client PEM directories");
  pki->add_option("--dir", pki_dir)->required();
  std::string certs;
  int connections = 1, timeout_ms = 10000;
  auto* serve = app.add_subcommand("serve", "serve HBONE on 127.0.0.1 (echo upstream)");
  serve->add_option("--certs", certs)->required();
  serve->add_option("--connections", connections);
  serve->add_option("--timeout-ms", timeout_ms);
  ConnectArgs ca;
  auto* connect = app.add_subcommand("connect", "one CONNECT stream to 127.0.0.1:PORT");
  connect->add_option("--certs", ca.certs)->required();
  connect->add_option("--port", ca.port)->required();
  connect->add_option("--expect", ca.expect)->required();
  connect->add_option("--authority", ca.authority)->required();
  connect->add_option("--in", ca.in)->required();
  connect->add_option("--out", ca.out)->required();
  connect->add_option("--traceparent", ca.traceparent);
  connect->add_option("--timeout-ms", ca.timeout_ms);
  CLI11_PARSE(app, argc, argv);
  if (pki->parsed()) return cmd_pki(pki_dir);
  if (serve->parsed()) return cmd_serve(certs, connections, timeout_ms);
  return cmd_connect(ca);
}
