#pragma once
// SpiffeId: a validated SPIFFE ID, "spiffe://<trust-domain>/<path>", as carried in the URI SAN
// of an X.509 SVID. Istio's workload form is "spiffe://<td>/ns/<namespace>/sa/<account>";
// other paths (SPIRE's) are valid too, and namespace()/service_account() are empty for them.
// Rules (SPIFFE ID spec §2): scheme "spiffe" in lower case; trust domain of lower-case
// letters, digits, '.', '-', '_' (at most 255 bytes); path segments of letters, digits,
// '.', '-', '_', none empty, "." or ".."; no trailing '/', query, fragment, port or
// userinfo; at most 2048 bytes in all. A plain value; safe to copy between threads.
#include <compare>
#include <string>
#include <string_view>

#include "daemon/base/result.hpp"

namespace mesh::tunnel {

class SpiffeId {
 public:
  static constexpr size_t kMaxLength = 2048;
  static constexpr size_t kMaxTrustDomainLength = 255;

  static base::Result<SpiffeId> parse(std::string_view uri);
  // Istio's workload identity: spiffe://<td>/ns/<ns>/sa/<sa>.
  static base::Result<SpiffeId> workload(std::string_view trust_domain, std::string_view ns,
                                         std::string_view service_account);
  // Validates a trust domain name on its own (a configuration value, `ca init --trust-domain`).
  static base::Status validate_trust_domain(std::string_view trust_domain);

  SpiffeId() = default;  // empty: "no identity"; every parsed SpiffeId is non-empty
  bool empty() const { return uri_.empty(); }
  const std::string& str() const { return uri_; }
  std::string_view trust_domain() const;
  std::string_view path() const;  // "" or "/..." (without the trust domain)
  // The Istio form's parts, or "" when the path is not /ns/<ns>/sa/<sa>.
  std::string_view namespace_name() const;
  std::string_view service_account() const;
  bool is_workload() const { return !namespace_name().empty(); }

  auto operator<=>(const SpiffeId&) const = default;

 private:
  std::string uri_;
  size_t td_end_ = 0;  // index in uri_ where the trust domain ends (the path starts)
};

}  // namespace mesh::tunnel
