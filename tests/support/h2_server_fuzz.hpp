#pragma once
// Test support for the libFuzzer targets of HTTP/2 server-side engines (H2Server and the
// HBONE profile over it): the input loop they share and the echo they answer data with.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

#include "daemon/base/clock.hpp"
#include "tunnel/http/byte_sink.hpp"
#include "tunnel/http/h2_options.hpp"
#include "tunnel/http/h2_types.hpp"

namespace mesh::testing {

// Writes back everything a stream has buffered, at most 512 bytes of each chunk read.
template <class Server>
void echo_readable(Server& server, tunnel::http::StreamId id) {
  while (server.readable(id) > 0) {
    auto chunk = server.peek(id);
    server.write(id, chunk.first(std::min<size_t>(chunk.size(), 512)));
    server.consume(id, chunk.size());
  }
}

// One fuzz input into a fresh `Server` (16 concurrent streams): the first byte picks the chunk
// size so frames also arrive split at odd places; after each chunk `serve` answers the
// events, the output is flushed and dropped, and the clock moves 10 ms on. Stops at the first
// connection error or when the server is done.
template <class Server>
void fuzz_h2_server(const uint8_t* data, size_t size, void (*serve)(Server&)) {
  if (size == 0) return;
  base::FakeClock clock;
  tunnel::http::VectorSink sink;
  auto opts = tunnel::http::H2Options::server();
  opts.max_concurrent_streams = 16;
  auto server = Server::create(sink, clock, opts);
  if (!server) __builtin_trap();
  size_t chunk = (data[0] % 64) * 17 + 1;
  std::span<const uint8_t> in(data + 1, size - 1);
  while (!in.empty()) {
    size_t n = std::min(chunk, in.size());
    bool ok = (*server)->receive(in.first(n)).has_value();
    in = in.subspan(n);
    serve(**server);
    (*server)->flush();
    sink.bytes().clear();
    clock.advance(std::chrono::milliseconds(10));
    if (!ok || (*server)->done()) break;
  }
}

}  // namespace mesh::testing
