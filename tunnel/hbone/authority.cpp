#include "tunnel/hbone/authority.hpp"

#include <charconv>

namespace mesh::tunnel::hbone {
namespace {

bool valid_hostname(std::string_view h) {
  if (h.empty() || h.size() > 253 || h.front() == '.' || h.front() == '-') return false;
  for (char c : h) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::optional<uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5 || s.front() == '0') return std::nullopt;
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v == 0 || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

}  // namespace

std::optional<Authority> parse_authority(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto port = parse_port(text.substr(colon + 1));
  if (!port) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  Authority a;
  a.port = *port;
  if (host.starts_with('[')) {
    if (!host.ends_with(']')) return std::nullopt;
    host = host.substr(1, host.size() - 2);
    auto ip = base::IpAddr::parse(host);
    if (!ip) return std::nullopt;
    a.addr = base::SocketAddr(*ip, *port);
  } else if (auto ip = base::IpAddr::parse(host)) {
    if (!ip->is_v4()) return std::nullopt;  // a bare IPv6 address needs brackets
    a.addr = base::SocketAddr(*ip, *port);
  } else if (!valid_hostname(host)) {
    return std::nullopt;
  }
  a.host = host;
  return a;
}

}  // namespace mesh::tunnel::hbone
