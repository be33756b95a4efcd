#pragma once
// gRPC over HTTP/2 as a proxy needs it (the gRPC spec, PROTOCOL-HTTP2.md and
// http-grpc-status-mapping.md): the status codes, the `grpc-timeout` header both ways,
// recognising a gRPC content-type, the status a response without `grpc-status` stands for,
// `grpc-message` percent-encoding, and the trailers-only response a proxy sends for an error
// it generates. Pure functions of values, callable from any thread.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/base/clock.hpp"
#include "tunnel/http/message.hpp"

namespace mesh::tunnel::http {

// The gRPC status codes (statuscodes.md); the numbers are the wire values.
enum class GrpcStatus : uint8_t {
  Ok = 0,
  Cancelled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
};
inline constexpr size_t kGrpcStatusCount = 17;

// "OK", "CANCELLED", ... "UNAUTHENTICATED", as the spec spells them.
std::string_view to_string(GrpcStatus s);
// A `grpc-status` value: decimal digits without leading zeros (as the spec writes it) naming
// one of the 17 codes; anything else is nullopt.
std::optional<GrpcStatus> parse_grpc_status(std::string_view value);

// `grpc-timeout`: 1 to 8 ASCII digits, then one unit of H M S m u n (hours to nanoseconds);
// no sign, no space, nothing after. A value too large for a Duration saturates to
// Duration::max() (99999999H is about 11 400 years). "0n" is accepted (gRPC's own parsers do)
// and means the deadline has passed.
std::optional<base::Duration> parse_grpc_timeout(std::string_view value);
// The finest unit whose value fits in 8 digits, rounded up so the deadline is never
// shortened (as grpc-go's encodeTimeout); zero and negative durations are "0n".
std::string encode_grpc_timeout(base::Duration d);

// The status a response without `grpc-status` stands for (http-grpc-status-mapping.md):
// 400 INTERNAL, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 UNIMPLEMENTED,
// 429 / 502 / 503 / 504 UNAVAILABLE, every other status UNKNOWN.
GrpcStatus grpc_status_from_http(int http_status);

// True for "application/grpc" and "application/grpc+<subtype>" (…+proto, …+json), optionally
// followed by ";" parameters. The type and subtype compare case-insensitively, as RFC 9110
// §8.3.1 says media types do (grpc-go and Envoy compare exactly; a proxy should not be the
// stricter party). "application/grpc-web" is a different wire format and is not gRPC.
bool is_grpc(std::string_view content_type);

// `grpc-message` percent-encoding: bytes outside 0x20-0x7E and '%' itself become "%XX"
// (upper-case hex). Decoding never fails: a '%' not followed by two hex digits is kept as
// it is, as the spec asks ("MUST NOT error or throw away the message").
std::string percent_encode_grpc_message(std::string_view message);
std::string percent_decode_grpc_message(std::string_view encoded);

// The trailers-only response for an error the proxy generates itself: one HEADERS frame with
// END_STREAM carrying ":status 200", "content-type: application/grpc", "grpc-status: N" and,
// when `message` is not empty, its percent-encoded "grpc-message". HTTP/2, as gRPC is.
ResponseHead grpc_trailers_only(GrpcStatus status, std::string_view message);

}  // namespace mesh::tunnel::http
