#pragma once
// IpAddr, SocketAddr and Cidr: IPv4 and IPv6 addresses as plain values, with parsing,
// formatting and conversion to and from the kernel's sockaddr structures. IPv4-mapped IPv6
// addresses (::ffff:a.b.c.d) are canonicalised to IPv4 so that one host has one spelling.
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "daemon/base/result.hpp"

namespace mesh::base {

class IpAddr {
 public:
  enum class Family : uint8_t { V4, V6 };

  IpAddr() = default;  // 0.0.0.0
  static IpAddr v4(uint32_t host_order);
  static IpAddr v6(const std::array<uint8_t, 16>& bytes);  // canonicalises v4-mapped
  static Result<IpAddr> parse(std::string_view text);

  Family family() const { return family_; }
  bool is_v4() const { return family_ == Family::V4; }
  bool is_v6() const { return family_ == Family::V6; }
  bool is_loopback() const;
  bool is_unspecified() const;
  uint32_t v4_host_order() const;             // only for V4
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }  // v4 in bytes[0..3]
  std::string to_string() const;

  auto operator<=>(const IpAddr&) const = default;

 private:
  Family family_ = Family::V4;
  std::array<uint8_t, 16> bytes_{};
};

class SocketAddr {
 public:
  SocketAddr() = default;
  SocketAddr(IpAddr ip, uint16_t port) : ip_(ip), port_(port) {}

  // "1.2.3.4:80", "[2001:db8::1]:443". The port is required.
  static Result<SocketAddr> parse(std::string_view text);
  static Result<SocketAddr> from_sockaddr(const sockaddr* sa, socklen_t len);

  const IpAddr& ip() const { return ip_; }
  uint16_t port() const { return port_; }
  int family() const { return ip_.is_v4() ? AF_INET : AF_INET6; }

  // Fills `out` and returns the length to pass to bind/connect.
  socklen_t to_sockaddr(sockaddr_storage& out) const;
  std::string to_string() const;

  auto operator<=>(const SocketAddr&) const = default;

 private:
  IpAddr ip_;
  uint16_t port_ = 0;
};

class Cidr {
 public:
  Cidr() = default;
  Cidr(IpAddr base, uint8_t prefix_len);  // host bits are cleared
  // "198.18.0.0/15", "2001:db8::/32"; a bare address means a host route (/32 or /128).
  static Result<Cidr> parse(std::string_view text);

  const IpAddr& base() const { return base_; }
  uint8_t prefix_len() const { return prefix_len_; }
  bool contains(const IpAddr& ip) const;
  std::string to_string() const;

  auto operator<=>(const Cidr&) const = default;

 private:
  IpAddr base_;
  uint8_t prefix_len_ = 0;
};

}  // namespace mesh::base
