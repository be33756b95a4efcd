#include "tunnel/http/grpc.hpp"

#include <array>
#include <limits>

namespace mesh::tunnel::http {
namespace {

constexpr std::array<std::string_view, kGrpcStatusCount> kStatusNames{
    "OK",           "CANCELLED",          "UNKNOWN",  "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
    "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
    "OUT_OF_RANGE", "UNIMPLEMENTED",      "INTERNAL", "UNAVAILABLE",      "DATA_LOSS",         "UNAUTHENTICATED"};

constexpr int64_t kMaxTimeoutValue = 99'999'999;

struct TimeoutUnit {
  char symbol;
  int64_t nanos;
};
// Finest first: the encoder takes the first that fits.
constexpr std::array<TimeoutUnit, 6> kUnits{{{'n', 1},
                                             {'u', 1'000},
                                             {'m', 1'000'000},
                                             {'S', 1'000'000'000},
                                             {'M', 60'000'000'000},
                                             {'H', 3'600'000'000'000}}};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view to_string(GrpcStatus s) {
  auto i = static_cast<size_t>(s);
  return i < kStatusNames.size() ? kStatusNames[i] : "UNKNOWN";
}

std::optional<GrpcStatus> parse_grpc_status(std::string_view value) {
  if (value.empty() || value.size() > 2 || (value.size() == 2 && value[0] == '0')) return std::nullopt;
  unsigned n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  if (n >= kGrpcStatusCount) return std::nullopt;
  return static_cast<GrpcStatus>(n);
}

std::optional<base::Duration> parse_grpc_timeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  char symbol = value.back();
  const TimeoutUnit* unit = nullptr;
  for (const auto& u : kUnits) {
    if (u.symbol == symbol) unit = &u;
  }
  if (unit == nullptr) return std::nullopt;
  int64_t n = 0;
  for (char c : value.substr(0, value.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n > std::numeric_limits<int64_t>::max() / unit->nanos) return base::Duration::max();
  return base::Duration(n * unit->nanos);
}

std::string encode_grpc_timeout(base::Duration d) {
  int64_t ns = d.count();
  if (ns <= 0) return "0n";
  for (const auto& u : kUnits) {
    int64_t v = ns / u.nanos + (ns % u.nanos != 0 ? 1 : 0);
    if (v <= kMaxTimeoutValue) return std::to_string(v) + u.symbol;
  }
  // Unreachable for a 64-bit Duration: INT64_MAX ns is about 2 562 047 hours.
  return std::to_string(kMaxTimeoutValue) + 'H';
}

GrpcStatus grpc_status_from_http(int http_status) {
  switch (http_status) {
    case 400: return GrpcStatus::Internal;
    case 401: return GrpcStatus::Unauthenticated;
    case 403: return GrpcStatus::PermissionDenied;
    case 404: return GrpcStatus::Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504: return GrpcStatus::Unavailable;
    default: return GrpcStatus::Unknown;
  }
}

bool is_grpc(std::string_view content_type) {
  constexpr std::string_view kBase = "application/grpc";
  if (content_type.size() < kBase.size() || !iequals(content_type.substr(0, kBase.size()), kBase)) return false;
  if (content_type.size() == kBase.size()) return true;
  char next = content_type[kBase.size()];
  return next == '+' || next == ';';
}

std::string percent_encode_grpc_message(std::string_view message) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(message.size());
  for (char c : message) {
    auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b <= 0x7e && b != '%') {
      out += c;
    } else {
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 0xf];
    }
  }
  return out;
}

std::string percent_decode_grpc_message(std::string_view encoded) {
  std::string out;
  out.reserve(encoded.size());
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] == '%' && i + 2 < encoded.size() && hex_value(encoded[i + 1]) >= 0 &&
        hex_value(encoded[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(encoded[i + 1]) * 16 + hex_value(encoded[i + 2]));
      i += 2;
    } else {
      out += encoded[i];
    }
  }
  return out;
}

ResponseHead grpc_trailers_only(GrpcStatus status, std::string_view message) {
  ResponseHead head{.status = 200, .version = Version::Http2, .headers = {}};
  head.headers.add("content-type", "application/grpc");
  head.headers.add("grpc-status", std::to_string(static_cast<int>(status)));
  if (!message.empty()) head.headers.add("grpc-message", percent_encode_grpc_message(message));
  return head;
}

}  // namespace mesh::tunnel::http
