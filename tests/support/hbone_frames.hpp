#pragma once
// Test support: raw HTTP/2 frames built by hand, to play peers that no well-behaved library
// would be: floods of SETTINGS/PING/PRIORITY/empty DATA/RST_STREAM, CONTINUATION chains,
// streams beyond the advertised limit, requests that are not CONNECT. Header blocks use
// HPACK literals without indexing (RFC 7541 §6.2.2) so no encoder state is needed.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mesh::testing::h2 {

using Bytes = std::vector<uint8_t>;

inline constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum : uint8_t { DATA = 0, HEADERS = 1, PRIORITY = 2, RST_STREAM = 3, SETTINGS = 4, PING = 6, GOAWAY = 7,
                 WINDOW_UPDATE = 8, CONTINUATION = 9 };
enum : uint8_t { END_STREAM = 0x1, ACK = 0x1, END_HEADERS = 0x4 };

inline void append(Bytes& out, const Bytes& more) { out.insert(out.end(), more.begin(), more.end()); }

inline Bytes frame(uint8_t type, uint8_t flags, uint32_t stream, const Bytes& payload = {}) {
  Bytes f;
  uint32_t len = static_cast<uint32_t>(payload.size());
  f.push_back(static_cast<uint8_t>(len >> 16));
  f.push_back(static_cast<uint8_t>(len >> 8));
  f.push_back(static_cast<uint8_t>(len));
  f.push_back(type);
  f.push_back(flags);
  uint32_t sid = stream & 0x7fffffffu;  // the reserved bit stays clear
  for (int shift = 24; shift >= 0; shift -= 8) f.push_back(static_cast<uint8_t>(sid >> shift));
  append(f, payload);
  return f;
}

inline Bytes preface_and_settings() {
  Bytes out(kPreface.begin(), kPreface.end());
  append(out, frame(SETTINGS, 0, 0));
  return out;
}

// One literal header field without indexing, new name (RFC 7541 §6.2.2, lengths < 127).
inline void literal(Bytes& block, std::string_view name, std::string_view value) {
  block.push_back(0x00);
  block.push_back(static_cast<uint8_t>(name.size()));
  block.insert(block.end(), name.begin(), name.end());
  block.push_back(static_cast<uint8_t>(value.size()));
  block.insert(block.end(), value.begin(), value.end());
}

inline Bytes header_block(const std::vector<std::pair<std::string, std::string>>& fields) {
  Bytes block;
  for (const auto& [n, v] : fields) literal(block, n, v);
  return block;
}

inline Bytes connect_headers(uint32_t stream, std::string_view authority, uint8_t extra_flags = 0) {
  return frame(HEADERS, END_HEADERS | extra_flags, stream,
               header_block({{":method", "CONNECT"}, {":authority", std::string(authority)}}));
}

inline Bytes rst(uint32_t stream, uint32_t code) {
  return frame(RST_STREAM, 0, stream, {static_cast<uint8_t>(code >> 24), static_cast<uint8_t>(code >> 16),
                                       static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)});
}

inline Bytes ping(uint8_t seed) { return frame(PING, 0, 0, Bytes(8, seed)); }
inline Bytes priority(uint32_t stream) { return frame(PRIORITY, 0, stream, {0, 0, 0, 0, 16}); }

inline Bytes repeat(const Bytes& one, int times) {
  Bytes out;
  for (int i = 0; i < times; ++i) append(out, one);
  return out;
}

}  // namespace mesh::testing::h2
