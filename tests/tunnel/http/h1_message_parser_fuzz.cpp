// Fuzz target: arbitrary bytes, split at an input-chosen point, into the HTTP/1.1 request
// parser with small limits. Must never crash, hang or read out of bounds, and must never
// report consuming more than it was given.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "tunnel/http/h1_message_parser.hpp"

using namespace mesh::tunnel::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  size_t split = input.empty() ? 0 : data[0] % (input.size() + 1);
  MessageParser p(data[0] & 1 ? MessageParser::Kind::Request : MessageParser::Kind::Response,
                  Limits{.max_header_bytes = 512, .max_headers = 8, .max_body_bytes = 256});
  for (std::string_view chunk : {input.substr(0, split), input.substr(split)}) {
    while (!chunk.empty()) {
      size_t used = p.feed(chunk);
      if (used > chunk.size()) std::abort();
      if (p.state() == MessageParser::State::Complete) {
        if (p.message().body.size() > 256) std::abort();
        p.reset();
      } else if (p.state() == MessageParser::State::Error || used == 0) {
        return 0;
      }
      chunk.remove_prefix(used);
    }
  }
  p.finish();
  return 0;
}
