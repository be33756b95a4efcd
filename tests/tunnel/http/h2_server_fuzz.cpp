// libFuzzer target: arbitrary bytes, as a client would send them, into a generic H2Server
// driven the way an HTTP/2 reverse proxy would drive it: answer every request (some with
// END_STREAM, some with a body and grpc-status trailers), echo request bodies, read request
// trailers, release closed streams. The first input byte picks the chunk size so frames also
// arrive split at odd places. Any crash, sanitizer report or broken invariant is a finding.
#include <cstddef>
#include <cstdint>

#include "tests/support/h2_server_fuzz.hpp"
#include "tunnel/http/h2_server.hpp"

namespace h2 = mesh::tunnel::http;

namespace {

void serve_events(h2::H2Server& server) {
  h2::Event ev;
  while (server.next_event(ev)) {
    switch (ev.kind) {
      case h2::EventKind::Request: {
        const h2::RequestHead* r = server.request(ev.stream);
        if (r == nullptr) __builtin_trap();
        h2::ResponseHead head{.status = r->path.size() % 2 ? 404 : 200};
        head.headers.add("content-type", "application/grpc");
        (void)server.respond(ev.stream, head, ev.stream % 3 == 0);
        break;
      }
      case h2::EventKind::Data:
        mesh::testing::echo_readable(server, ev.stream);
        break;
      case h2::EventKind::PeerEnd: {
        const h2::HeaderMap* t = server.trailers(ev.stream);
        size_t n = t ? t->size() : 0;
        (void)server.close_write(ev.stream, {{"grpc-status", n % 2 ? "0" : "13"}});
        break;
      }
      case h2::EventKind::Closed:
        server.release(ev.stream);
        break;
      default:
        break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mesh::testing::fuzz_h2_server<h2::H2Server>(data, size, serve_events);
  return 0;
}
