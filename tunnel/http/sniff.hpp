#pragma once
// Protocol detection for a connection whose port does not say what it carries: sniff() looks
// at the first bytes a client sent and says HTTP/1, HTTP/2 (prior knowledge), opaque, or that
// it cannot tell yet; decide_protocol() combines that with the port's declared protocol, the
// server-speaks-first skip list and the detection timer into what the proxy does and which
// outcome it counts. Pure functions of values, callable from any thread; no I/O, no clock.
//
// sniff() is stable: once it answers anything but NeedMore for some bytes, it gives the same
// answer for every longer input starting with them, so a caller may stop reading as soon as
// it has an answer. It decides as early as the bytes allow:
//   - Http2 on the complete 24-byte client preface "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
//     (RFC 9113 §3.4). Linkerd already decides on its first 14 bytes; waiting for all 24
//     means a client that sends "PRI * HTTP/2.0" and something else is not mistaken for h2.
//   - Http1 on a request-line prefix that reaches its version digit: a method of tchars
//     (RFC 9110 §5.6.2), one SP, a request-target of visible ASCII (0x21-0x7E), one SP,
//     "HTTP/1." and a digit (RFC 9112 §3). What follows is the HTTP/1 codec's to check.
//   - Opaque as soon as no byte string starting with the input could be either, or when
//     `max_request_line` bytes have arrived and neither is decided (a bounded wait: no
//     request line is that long in practice; 8 KiB is nginx's and Apache's request-line limit).
//   - NeedMore while the input is a strict prefix of something that could still be either,
//     including the empty input.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace mesh::tunnel::http {

enum class Sniffed : uint8_t { NeedMore, Http1, Http2, Opaque };

inline constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
inline constexpr size_t kDefaultMaxRequestLine = 8 * 1024;

// `max_request_line` below the preface's 24 bytes is raised to 24.
Sniffed sniff(std::string_view first_bytes, size_t max_request_line = kDefaultMaxRequestLine);

// Whether what the server sent before the client said anything is (so far) an HTTP/2
// server's connection preface: a SETTINGS frame header (type 0x4, flags 0, stream 0, a
// length that is a multiple of 6; RFC 9113 §3.4, §6.5). An h2c server may send it as soon
// as it accepts, so it does not make the connection server-first. True for any prefix of
// such a header, the empty input included.
bool server_h2_preface(std::string_view server_bytes);

// What the port declares (Istio's port name / appProtocol prefix, Linkerd's appProtocol).
enum class DeclaredProtocol : uint8_t { Undeclared, Http, Http2, Grpc, Tcp };

// What the proxy does with the connection.
enum class ProtocolAction : uint8_t { Wait, Http1, Http2, Opaque };

// How the protocol was settled; one counter each (meshd_protocol_detections_total{outcome}).
enum class DetectOutcome : uint8_t { Declared, SniffedHttp1, SniffedHttp2, Opaque, Timeout, SkippedServerFirst, kCount };
inline constexpr size_t kDetectOutcomeCount = static_cast<size_t>(DetectOutcome::kCount);

// Linkerd's default opaque ports: protocols where the server speaks first (SMTP 25 and 587,
// MySQL 3306, Galera 4444, PostgreSQL 5432, Redis 6379, Elasticsearch transport 9300,
// memcached 11211), so waiting for a client's first bytes would stall them.
inline constexpr std::array<uint16_t, 8> kDefaultServerFirstPorts{25, 587, 3306, 4444, 5432, 6379, 9300, 11211};

struct DetectInput {
  DeclaredProtocol declared = DeclaredProtocol::Undeclared;
  uint16_t port = 0;  // the destination port
  std::span<const uint16_t> server_first_ports = kDefaultServerFirstPorts;
  Sniffed sniffed = Sniffed::NeedMore;  // sniff() of what has arrived so far
  bool timed_out = false;               // the detection timer has fired
};

struct DetectDecision {
  ProtocolAction action = ProtocolAction::Wait;
  DetectOutcome outcome = DetectOutcome::Declared;  // meaningful only when action != Wait
  bool operator==(const DetectDecision&) const = default;
};

// The decision table (first matching row wins; mirrored by sniff_test.cpp):
//   declared http            -> Http1,  declared    (Linkerd: appProtocol http is HTTP/1)
//   declared http2 or grpc   -> Http2,  declared    (gRPC runs only over HTTP/2)
//   declared tcp             -> Opaque, declared
//   port in the skip list    -> Opaque, skipped_server_first (no wait, no bytes needed)
//   sniffed Http1 / Http2    -> Http1 / Http2, sniffed_http1 / sniffed_http2
//   sniffed Opaque           -> Opaque, opaque
//   NeedMore and timed out   -> Opaque, timeout     (Linkerd: no bytes before the timeout is TCP)
//   NeedMore                 -> Wait
// A declaration beats the skip list: it is the operator's word about that port. Bytes that
// decide beat a timer that fired in the same loop iteration.
DetectDecision decide_protocol(const DetectInput& in);

bool is_server_first_port(uint16_t port, std::span<const uint16_t> ports);

std::string_view to_string(Sniffed s);
std::string_view to_string(ProtocolAction a);
std::string_view to_string(DetectOutcome o);

}  // namespace mesh::tunnel::http
