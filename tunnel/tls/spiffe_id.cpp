#include "tunnel/tls/spiffe_id.hpp"

#include <fmt/format.h>

namespace mesh::tunnel {
namespace {

using base::Errc;
using base::fail;

constexpr std::string_view kScheme = "spiffe://";

bool is_td_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

bool is_path_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '.' || c == '-' || c == '_';
}

base::Status validate_path(std::string_view path) {
  if (path.empty()) return base::ok();
  if (path.back() == '/') return fail(Errc::Invalid, "path has a trailing '/'");
  size_t pos = 1;  // path[0] == '/'
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(pos, end - pos);
    if (seg.empty()) return fail(Errc::Invalid, "path has an empty segment");
    if (seg == "." || seg == "..") return fail(Errc::Invalid, "path has a '.' or '..' segment");
    for (char c : seg) {
      if (!is_path_char(c)) {
        return fail(Errc::Invalid, fmt::format("path has a forbidden character '{}'", c));
      }
    }
    pos = end + 1;
  }
  return base::ok();
}

}  // namespace

base::Status SpiffeId::validate_trust_domain(std::string_view td) {
  if (td.empty()) return fail(Errc::Invalid, "empty trust domain");
  if (td.size() > kMaxTrustDomainLength) return fail(Errc::Invalid, "trust domain too long");
  for (char c : td) {
    if (!is_td_char(c)) {
      return fail(Errc::Invalid, fmt::format("trust domain has a forbidden character '{}'", c));
    }
  }
  return base::ok();
}

base::Result<SpiffeId> SpiffeId::parse(std::string_view uri) {
  auto invalid = [&](std::string_view why) {
    return fail(Errc::Invalid, fmt::format("invalid SPIFFE ID '{}': {}", uri, why));
  };
  if (uri.size() > kMaxLength) return invalid("longer than 2048 bytes");
  if (!uri.starts_with(kScheme)) return invalid("scheme must be 'spiffe://'");
  std::string_view rest = uri.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string_view td = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (auto st = validate_trust_domain(td); !st) return invalid(st.error().context());
  if (auto st = validate_path(path); !st) return invalid(st.error().context());
  SpiffeId id;
  id.uri_ = std::string(uri);
  id.td_end_ = kScheme.size() + td.size();
  return id;
}

base::Result<SpiffeId> SpiffeId::workload(std::string_view trust_domain, std::string_view ns,
                                          std::string_view service_account) {
  if (ns.empty() || service_account.empty()) {
    return fail(Errc::Invalid, "namespace and service account must not be empty");
  }
  if (ns.find('/') != std::string_view::npos || service_account.find('/') != std::string_view::npos) {
    return fail(Errc::Invalid, "namespace and service account must be single path segments");
  }
  return parse(fmt::format("spiffe://{}/ns/{}/sa/{}", trust_domain, ns, service_account));
}

std::string_view SpiffeId::trust_domain() const {
  if (uri_.empty()) return {};
  return std::string_view(uri_).substr(kScheme.size(), td_end_ - kScheme.size());
}

std::string_view SpiffeId::path() const { return std::string_view(uri_).substr(td_end_); }

namespace {
// Splits "/ns/<ns>/sa/<sa>" into its two values; both empty for any other path.
std::pair<std::string_view, std::string_view> istio_parts(std::string_view path) {
  constexpr std::string_view kNs = "/ns/";
  if (!path.starts_with(kNs)) return {};
  std::string_view rest = path.substr(kNs.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return {};
  std::string_view ns = rest.substr(0, slash);
  std::string_view tail = rest.substr(slash);
  constexpr std::string_view kSa = "/sa/";
  if (!tail.starts_with(kSa)) return {};
  std::string_view sa = tail.substr(kSa.size());
  if (sa.empty() || sa.find('/') != std::string_view::npos) return {};
  return {ns, sa};
}
}  // namespace

std::string_view SpiffeId::namespace_name() const { return istio_parts(path()).first; }
std::string_view SpiffeId::service_account() const { return istio_parts(path()).second; }

}  // namespace mesh::tunnel
