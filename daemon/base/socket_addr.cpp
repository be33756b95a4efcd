#include "daemon/base/socket_addr.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace mesh::base {
namespace {

constexpr std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool is_v4_mapped(const std::array<uint8_t, 16>& b) {
  return std::memcmp(b.data(), kV4MappedPrefix.data(), kV4MappedPrefix.size()) == 0;
}

Result<uint16_t> parse_port(std::string_view text, std::string_view whole) {
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || value > 65535) {
    return fail(Errc::Invalid, fmt::format("invalid port in '{}'", whole));
  }
  return static_cast<uint16_t>(value);
}

}  // namespace

IpAddr IpAddr::v4(uint32_t host_order) {
  IpAddr ip;
  ip.family_ = Family::V4;
  uint32_t net = htonl(host_order);
  std::memcpy(ip.bytes_.data(), &net, 4);
  return ip;
}

IpAddr IpAddr::v6(const std::array<uint8_t, 16>& bytes) {
  if (is_v4_mapped(bytes)) {
    uint32_t net;
    std::memcpy(&net, bytes.data() + 12, 4);
    return v4(ntohl(net));
  }
  IpAddr ip;
  ip.family_ = Family::V6;
  ip.bytes_ = bytes;
  return ip;
}

Result<IpAddr> IpAddr::parse(std::string_view text) {
  if (text.size() >= INET6_ADDRSTRLEN) return fail(Errc::Invalid, fmt::format("invalid IP address '{}'", text));
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, text.data(), text.size());
  in_addr a4;
  if (inet_pton(AF_INET, buf, &a4) == 1) return v4(ntohl(a4.s_addr));
  std::array<uint8_t, 16> a6;
  if (inet_pton(AF_INET6, buf, a6.data()) == 1) return v6(a6);
  return fail(Errc::Invalid, fmt::format("invalid IP address '{}'", text));
}

bool IpAddr::is_loopback() const {
  if (is_v4()) return bytes_[0] == 127;
  static constexpr std::array<uint8_t, 16> kLoop = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return bytes_ == kLoop;
}

bool IpAddr::is_unspecified() const {
  size_t n = is_v4() ? 4 : 16;
  for (size_t i = 0; i < n; ++i)
    if (bytes_[i] != 0) return false;
  return true;
}

uint32_t IpAddr::v4_host_order() const {
  uint32_t net;
  std::memcpy(&net, bytes_.data(), 4);
  return ntohl(net);
}

std::string IpAddr::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(is_v4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
  return buf;
}

Result<SocketAddr> SocketAddr::parse(std::string_view text) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return fail(Errc::Invalid, fmt::format("invalid socket address '{}': expected [ipv6]:port", text));
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return fail(Errc::Invalid, fmt::format("invalid socket address '{}': missing port", text));
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return fail(Errc::Invalid, fmt::format("invalid socket address '{}': write IPv6 as [addr]:port", text));
    }
  }
  auto ip = IpAddr::parse(host);
  if (!ip) return fail(ip.error().wrap(fmt::format("invalid socket address '{}'", text)));
  auto p = parse_port(port, text);
  if (!p) return fail(p.error());
  return SocketAddr(*ip, *p);
}

Result<SocketAddr> SocketAddr::from_sockaddr(const sockaddr* sa, socklen_t len) {
  if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    return SocketAddr(IpAddr::v4(ntohl(in->sin_addr.s_addr)), ntohs(in->sin_port));
  }
  if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    std::array<uint8_t, 16> b;
    std::memcpy(b.data(), &in6->sin6_addr, 16);
    return SocketAddr(IpAddr::v6(b), ntohs(in6->sin6_port));
  }
  return fail(Errc::Unsupported, fmt::format("unsupported address family {}", sa->sa_family));
}

socklen_t SocketAddr::to_sockaddr(sockaddr_storage& out) const {
  std::memset(&out, 0, sizeof out);
  if (ip_.is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(&out);
    in->sin_family = AF_INET;
    in->sin_port = htons(port_);
    in->sin_addr.s_addr = htonl(ip_.v4_host_order());
    return sizeof(sockaddr_in);
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&out);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(port_);
  std::memcpy(&in6->sin6_addr, ip_.bytes().data(), 16);
  return sizeof(sockaddr_in6);
}

std::string SocketAddr::to_string() const {
  if (ip_.is_v4()) return fmt::format("{}:{}", ip_.to_string(), port_);
  return fmt::format("[{}]:{}", ip_.to_string(), port_);
}

Cidr::Cidr(IpAddr base, uint8_t prefix_len) : prefix_len_(prefix_len) {
  auto bytes = base.bytes();
  size_t total = base.is_v4() ? 4 : 16;
  for (size_t i = 0; i < total; ++i) {
    int keep = static_cast<int>(prefix_len) - static_cast<int>(i * 8);
    if (keep >= 8) continue;
    bytes[i] = keep <= 0 ? 0 : static_cast<uint8_t>(bytes[i] & (0xff << (8 - keep)));
  }
  if (base.is_v4()) {
    uint32_t net;
    std::memcpy(&net, bytes.data(), 4);
    base_ = IpAddr::v4(ntohl(net));
  } else {
    base_ = IpAddr::v6(bytes);
  }
}

Result<Cidr> Cidr::parse(std::string_view text) {
  auto slash = text.find('/');
  auto ip = IpAddr::parse(text.substr(0, slash));
  if (!ip) return fail(Errc::Invalid, fmt::format("invalid CIDR '{}'", text));
  unsigned max = ip->is_v4() ? 32 : 128;
  unsigned len = max;
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || len > max) {
      return fail(Errc::Invalid, fmt::format("invalid CIDR '{}': prefix length must be 0..{}", text, max));
    }
  }
  return Cidr(*ip, static_cast<uint8_t>(len));
}

bool Cidr::contains(const IpAddr& ip) const {
  if (ip.family() != base_.family()) return false;
  return Cidr(ip, prefix_len_).base_ == base_;
}

std::string Cidr::to_string() const { return fmt::format("{}/{}", base_.to_string(), prefix_len_); }

}  // namespace mesh::base
