#pragma once
// Name syntax shared by the codec and the compiler: Kubernetes DNS names for resources and
// namespaces, host names with an optional leading wildcard, and host-pattern matching.
// Pure functions.
#include <string_view>

namespace mesh::policy {

// RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 characters.
bool is_dns_label(std::string_view s);
// Dot-separated RFC 1123 labels, at most 253 characters.
bool is_dns_subdomain(std::string_view s);
// A lowercase host name, "*" or "*.<host name>" when wildcards are allowed.
bool is_host_pattern(std::string_view s, bool allow_wildcard);
// Istio host matching: "*" matches everything, "*.example.com" matches any name ending in
// ".example.com"; otherwise names must be equal. Both sides lowercase.
bool host_matches(std::string_view pattern, std::string_view host);
// ASCII case-insensitive equality, for HTTP method and header names.
inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x == y) continue;
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace mesh::policy
