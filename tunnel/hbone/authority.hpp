#pragma once
// CONNECT :authority parsing (RFC 9113 §8.5, ztunnel's build_inbound_request): either an
// IP socket address ("10.0.0.7:8080", "[fd00::7]:80") or "hostname:port" for service
// traffic (double HBONE). The port must be 1..65535; a hostname is letters, digits, '-',
// '.' (at most 253 bytes). Anything else is a malformed authority, answered 400.
#include <optional>
#include <string_view>

#include "daemon/base/socket_addr.hpp"

namespace mesh::tunnel::hbone {

struct Authority {
  std::optional<base::SocketAddr> addr;  // set when the host is an IP address
  std::string_view host;                 // the host part (without brackets)
  uint16_t port = 0;
};

std::optional<Authority> parse_authority(std::string_view text);

}  // namespace mesh::tunnel::hbone
