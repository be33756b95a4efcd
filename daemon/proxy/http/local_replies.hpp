#pragma once
// Internal to HttpConnection: the bodies of the answers meshd gives itself (Envoy's words, so
// that clients and dashboards that know Envoy's see the same), and a view helper.
#include <cstdint>
#include <span>
#include <string_view>

namespace mesh::proxy::replies {

inline constexpr std::string_view kDenied = "RBAC: access denied";
// The application (or endpoint) failed before its response head.
inline constexpr std::string_view kReset =
    "upstream connect error or disconnect/reset before headers. reset reason: connection termination";
inline constexpr std::string_view kProtocolError =
    "upstream connect error or disconnect/reset before headers. reset reason: protocol error";
inline constexpr std::string_view kConnectFailure =
    "upstream connect error or disconnect/reset before headers. reset reason: connection failure";
inline constexpr std::string_view kNoHealthyUpstream = "no healthy upstream";

inline std::string_view as_text(std::span<const uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace mesh::proxy::replies
