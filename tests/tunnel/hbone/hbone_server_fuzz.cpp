// libFuzzer target: arbitrary bytes, as they would come out of TLS on port 15008, into an
// HboneServer driven the way the daemon drives it (answer requests, read and echo data,
// half-close, release). The first input byte picks the chunk size so frames also arrive
// split at odd places. Any crash, sanitizer report or broken invariant is a finding.
#include <cstddef>
#include <cstdint>

#include "tests/support/h2_server_fuzz.hpp"
#include "tunnel/hbone/hbone_server.hpp"

namespace hb = mesh::tunnel::hbone;
namespace http = mesh::tunnel::http;

namespace {

void serve_events(hb::HboneServer& server) {
  http::Event ev;
  while (server.next_event(ev)) {
    switch (ev.kind) {
      case http::EventKind::Request:
        (void)server.respond(ev.stream, ev.stream % 3 == 0 ? 403 : 200);
        break;
      case http::EventKind::Data:
        mesh::testing::echo_readable(server, ev.stream);
        break;
      case http::EventKind::PeerEnd:
        server.close_write(ev.stream);
        break;
      case http::EventKind::Closed:
        server.release(ev.stream);
        break;
      default:
        break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mesh::testing::fuzz_h2_server<hb::HboneServer>(data, size, serve_events);
  return 0;
}
