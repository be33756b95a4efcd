#include "tunnel/http/sniff.hpp"

#include <algorithm>

namespace mesh::tunnel::http {
namespace {

bool is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_vchar(unsigned char c) { return c >= 0x21 && c <= 0x7e; }

// Compares `s` from `pos` with `literal`: NeedMore if `s` ends inside it and agrees so far.
// Returns Http1 as "matched completely" (the caller goes on).
Sniffed match_literal(std::string_view s, size_t pos, std::string_view literal) {
  std::string_view rest = s.substr(pos, literal.size());
  if (rest != literal.substr(0, rest.size())) return Sniffed::Opaque;
  return rest.size() < literal.size() ? Sniffed::NeedMore : Sniffed::Http1;
}

// method SP request-target SP "HTTP/1." DIGIT
Sniffed sniff_http1(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && is_tchar(static_cast<unsigned char>(s[i]))) ++i;
  if (i == s.size()) return Sniffed::NeedMore;
  if (i == 0 || s[i] != ' ') return Sniffed::Opaque;
  size_t target = ++i;
  while (i < s.size() && is_vchar(static_cast<unsigned char>(s[i]))) ++i;
  if (i == s.size()) return Sniffed::NeedMore;
  if (i == target || s[i] != ' ') return Sniffed::Opaque;
  ++i;
  constexpr std::string_view kVersion = "HTTP/1.";
  if (auto m = match_literal(s, i, kVersion); m != Sniffed::Http1) return m;
  i += kVersion.size();
  if (i == s.size()) return Sniffed::NeedMore;
  return s[i] >= '0' && s[i] <= '9' ? Sniffed::Http1 : Sniffed::Opaque;
}

Sniffed sniff_http2(std::string_view s) {
  auto m = match_literal(s, 0, kH2Preface);
  return m == Sniffed::Http1 ? Sniffed::Http2 : m;
}

}  // namespace

bool server_h2_preface(std::string_view s) {
  auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  if (s.size() >= 3) {
    uint32_t length = (uint32_t{byte(0)} << 16) | (uint32_t{byte(1)} << 8) | byte(2);
    if (length % 6 != 0) return false;
  }
  if (s.size() >= 4 && byte(3) != 0x4) return false;  // SETTINGS
  if (s.size() >= 5 && byte(4) != 0) return false;    // not an ACK
  for (size_t i = 5; i < 9 && i < s.size(); ++i) {
    if (byte(i) != 0) return false;  // stream 0
  }
  return true;
}

Sniffed sniff(std::string_view first_bytes, size_t max_request_line) {
  max_request_line = std::max(max_request_line, kH2Preface.size());
  std::string_view s = first_bytes.substr(0, max_request_line);
  Sniffed h2 = sniff_http2(s);
  Sniffed h1 = sniff_http1(s);
  // The two cannot both succeed: the preface's version is 2.0, not 1.x.
  if (h2 == Sniffed::Http2) return Sniffed::Http2;
  if (h1 == Sniffed::Http1) return Sniffed::Http1;
  if (h1 == Sniffed::NeedMore || h2 == Sniffed::NeedMore) {
    return first_bytes.size() >= max_request_line ? Sniffed::Opaque : Sniffed::NeedMore;
  }
  return Sniffed::Opaque;
}

bool is_server_first_port(uint16_t port, std::span<const uint16_t> ports) {
  return std::find(ports.begin(), ports.end(), port) != ports.end();
}

DetectDecision decide_protocol(const DetectInput& in) {
  switch (in.declared) {
    case DeclaredProtocol::Http: return {ProtocolAction::Http1, DetectOutcome::Declared};
    case DeclaredProtocol::Http2:
    case DeclaredProtocol::Grpc: return {ProtocolAction::Http2, DetectOutcome::Declared};
    case DeclaredProtocol::Tcp: return {ProtocolAction::Opaque, DetectOutcome::Declared};
    case DeclaredProtocol::Undeclared: break;
  }
  if (is_server_first_port(in.port, in.server_first_ports)) {
    return {ProtocolAction::Opaque, DetectOutcome::SkippedServerFirst};
  }
  switch (in.sniffed) {
    case Sniffed::Http1: return {ProtocolAction::Http1, DetectOutcome::SniffedHttp1};
    case Sniffed::Http2: return {ProtocolAction::Http2, DetectOutcome::SniffedHttp2};
    case Sniffed::Opaque: return {ProtocolAction::Opaque, DetectOutcome::Opaque};
    case Sniffed::NeedMore: break;
  }
  if (in.timed_out) return {ProtocolAction::Opaque, DetectOutcome::Timeout};
  return {ProtocolAction::Wait, DetectOutcome::Declared};
}

std::string_view to_string(Sniffed s) {
  switch (s) {
    case Sniffed::NeedMore: return "need_more";
    case Sniffed::Http1: return "http1";
    case Sniffed::Http2: return "http2";
    case Sniffed::Opaque: return "opaque";
  }
  return "unknown";
}

std::string_view to_string(ProtocolAction a) {
  switch (a) {
    case ProtocolAction::Wait: return "wait";
    case ProtocolAction::Http1: return "http1";
    case ProtocolAction::Http2: return "http2";
    case ProtocolAction::Opaque: return "opaque";
  }
  return "unknown";
}

std::string_view to_string(DetectOutcome o) {
  switch (o) {
    case DetectOutcome::Declared: return "declared";
    case DetectOutcome::SniffedHttp1: return "sniffed_http1";
    case DetectOutcome::SniffedHttp2: return "sniffed_http2";
    case DetectOutcome::Opaque: return "opaque";
    case DetectOutcome::Timeout: return "timeout";
    case DetectOutcome::SkippedServerFirst: return "skipped_server_first";
    case DetectOutcome::kCount: break;
  }
  return "unknown";
}

}  // namespace mesh::tunnel::http
