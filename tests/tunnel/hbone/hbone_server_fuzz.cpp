// libFuzzer target: arbitrary bytes, as they would come out of TLS on port 15008, into an
// HboneServer driven the way the daemon drives it (answer requests, read and echo data,
// half-close, release). The first input byte picks the chunk size so frames also arrive
// split at odd places. Any crash, sanitizer report or broken invariant is a finding.
#include <cstddef>
#include <cstdint>
#include <span>

#include "daemon/base/clock.hpp"
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
        while (server.readable(ev.stream) > 0) {
          auto chunk = server.peek(ev.stream);
          server.write(ev.stream, chunk.first(std::min<size_t>(chunk.size(), 512)));
          server.consume(ev.stream, chunk.size());
        }
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
  if (size == 0) return 0;
  mesh::base::FakeClock clock;
  http::VectorSink sink;
  auto opts = http::H2Options::server();
  opts.max_concurrent_streams = 16;
  auto server = hb::HboneServer::create(sink, clock, opts);
  if (!server) __builtin_trap();
  size_t chunk = (data[0] % 64) * 17 + 1;
  std::span<const uint8_t> in(data + 1, size - 1);
  while (!in.empty()) {
    size_t n = std::min(chunk, in.size());
    bool ok = (*server)->receive(in.first(n)).has_value();
    in = in.subspan(n);
    serve_events(**server);
    (*server)->flush();
    sink.bytes().clear();
    clock.advance(std::chrono::milliseconds(10));
    if (!ok || (*server)->done()) break;
  }
  return 0;
}
