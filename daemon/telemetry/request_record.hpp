#pragma once
// RequestRecord: what one finished HTTP or gRPC request leaves behind for telemetry — timing,
// sizes, status, Envoy-style response flags, the route and rule that handled it, the endpoint
// it went to and both peers' identities. A plain value: the HTTP connection manager fills one
// per request as the exchange ends; request metrics (and, later, the access log) read it.
// Strings are owned so a record may outlive the policy snapshot it was built from.
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/base/clock.hpp"
#include "daemon/base/socket_addr.hpp"

namespace mesh::telemetry {

// Envoy's response flags, in Envoy's bit order (envoy/stream_info/stream_info.h), which is
// also the order its %RESPONSE_FLAGS% lists them in. Short names in the comments.
enum class ResponseFlag : uint8_t {
  FailedLocalHealthCheck,            // LH
  NoHealthyUpstream,                 // UH
  UpstreamRequestTimeout,            // UT
  LocalReset,                        // LR
  UpstreamRemoteReset,               // UR
  UpstreamConnectionFailure,         // UF
  UpstreamConnectionTermination,     // UC
  UpstreamOverflow,                  // UO
  NoRouteFound,                      // NR
  DelayInjected,                     // DI
  FaultInjected,                     // FI
  RateLimited,                       // RL
  UnauthorizedExternalService,       // UAEX
  RateLimitServiceError,             // RLSE
  DownstreamConnectionTermination,   // DC
  UpstreamRetryLimitExceeded,        // URX
  StreamIdleTimeout,                 // SI
  InvalidEnvoyRequestHeaders,        // IH
  DownstreamProtocolError,           // DPE
  UpstreamMaxStreamDurationReached,  // UMSDR
  ResponseFromCacheFilter,           // RFCF
  NoFilterConfigFound,               // NFCF
  DurationTimeout,                   // DT
  UpstreamProtocolError,             // UPE
  NoClusterFound,                    // NC
  OverloadManager,                   // OM
  DnsResolutionFailed,               // DF
  kCount
};
inline constexpr size_t kResponseFlagCount = static_cast<size_t>(ResponseFlag::kCount);

std::string_view short_name(ResponseFlag f);
std::optional<ResponseFlag> parse_response_flag(std::string_view short_name);

// A set of response flags; rendered as Envoy renders %RESPONSE_FLAGS%: the short names of
// the flags set, comma-joined in Envoy's order, or "-" when none is set.
class ResponseFlags {
 public:
  constexpr ResponseFlags() = default;
  constexpr ResponseFlags(std::initializer_list<ResponseFlag> flags) {
    for (auto f : flags) set(f);
  }
  constexpr void set(ResponseFlag f) { bits_ |= bit(f); }
  constexpr void clear(ResponseFlag f) { bits_ &= ~bit(f); }
  constexpr bool has(ResponseFlag f) const { return (bits_ & bit(f)) != 0; }
  constexpr bool empty() const { return bits_ == 0; }
  constexpr uint32_t bits() const { return bits_; }
  static constexpr ResponseFlags from_bits(uint32_t bits) {
    ResponseFlags f;
    f.bits_ = bits & ((uint32_t{1} << kResponseFlagCount) - 1);
    return f;
  }
  void append_to(std::string& out) const;
  std::string to_string() const;
  bool operator==(const ResponseFlags&) const = default;

 private:
  static constexpr uint32_t bit(ResponseFlag f) { return uint32_t{1} << static_cast<unsigned>(f); }
  uint32_t bits_ = 0;
};

// Who reports: the proxy on the client's side (source) or on the server's (destination).
enum class Reporter : uint8_t { Source, Destination };
enum class RequestProtocol : uint8_t { Http, Grpc };
std::string_view to_string(Reporter r);         // "source", "destination"
std::string_view to_string(RequestProtocol p);  // "http", "grpc"

// One side of the request; empty fields are unknown.
struct PeerInfo {
  std::string workload;
  std::string workload_namespace;
  std::string principal;  // SPIFFE ID, e.g. spiffe://cluster.local/ns/default/sa/web
  bool operator==(const PeerInfo&) const = default;
};

struct RequestRecord {
  base::WallTime start_time{};  // when the request's first byte arrived
  // From the start to the first byte of the upstream's response; none when no upstream
  // answered (local reply, connect failure, downstream gone first).
  std::optional<base::Duration> to_first_upstream_byte;
  base::Duration duration{};  // from the start to the last byte of the response (completion)
  uint64_t request_body_bytes = 0;
  uint64_t response_body_bytes = 0;
  uint16_t response_code = 0;           // the :status sent downstream; 0 when none was sent
  std::optional<uint8_t> grpc_status;   // gRPC requests only: the wire value (0..16)
  ResponseFlags response_flags;
  std::string route_name;                 // the policy route that matched, if any
  std::string rule_name;                  // the rule inside it
  std::optional<base::SocketAddr> endpoint;  // the upstream host, when one was chosen
  PeerInfo source;
  PeerInfo destination;
  std::string destination_service;  // the service's host name, e.g. reviews.default.svc.cluster.local
  RequestProtocol request_protocol = RequestProtocol::Http;
  Reporter reporter = Reporter::Destination;
};

}  // namespace mesh::telemetry
