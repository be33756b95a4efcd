#pragma once
// The security half of the mesh model: authorization (≈ Istio AuthorizationPolicy, Linkerd
// Server + AuthorizationPolicy) and peer authentication (≈ PeerAuthentication). Plain values
// decoded from TOML; values are checked for syntax (principals, CIDRs, ports) when decoded.
#include <optional>
#include <utility>
#include <vector>

#include "daemon/base/socket_addr.hpp"
#include "policy/model_common.hpp"

namespace mesh::policy::model {

enum class AuthzAction : uint8_t { Allow, Deny, Audit };
std::string_view to_string(AuthzAction a);

// Istio's "source": every field present must match (AND); within a field any value may match
// (OR); a not_ field must match none of its values. Strings may use a leading or trailing '*'.
struct AuthzSource {
  SourceLoc loc;
  std::vector<std::string> principals;  // "<trust-domain>/ns/<ns>/sa/<sa>", no spiffe:// scheme
  std::vector<std::string> not_principals;
  std::vector<std::string> namespaces;
  std::vector<std::string> not_namespaces;
  std::vector<base::Cidr> ip_blocks;
  std::vector<base::Cidr> not_ip_blocks;
};

// Istio's "operation". ports are L4; hosts, methods and paths need HTTP.
struct AuthzOperation {
  SourceLoc loc;
  std::vector<std::string> hosts;
  std::vector<std::string> not_hosts;
  std::vector<uint16_t> ports;
  std::vector<uint16_t> not_ports;
  std::vector<std::string> methods;
  std::vector<std::string> not_methods;
  std::vector<std::string> paths;
  std::vector<std::string> not_paths;
};

// Istio's "when": the attribute named by key must equal one of values (if any) and none of
// not_values (if any).
struct AuthzCondition {
  SourceLoc loc;
  std::string key;  // "source.ip", "request.headers[x-token]", ...
  std::vector<std::string> values;
  std::vector<std::string> not_values;
};

// from, to and when are ANDed; within from and to the entries are ORed. An empty rule matches
// every connection and request.
struct AuthzRule {
  SourceLoc loc;
  std::vector<AuthzSource> from;
  std::vector<AuthzOperation> to;
  std::vector<AuthzCondition> when;
};

struct Authorization {
  Meta meta;
  std::optional<Labels> selector;  // absent: every workload of the namespace (mesh-wide in the root namespace)
  AuthzAction action = AuthzAction::Allow;
  std::vector<AuthzRule> rules;  // none: an ALLOW matches nothing (deny all), a DENY never matches
  bool dry_run = false;          // evaluated and reported, never enforced (istio.io/dry-run)
};

enum class MtlsMode : uint8_t { Unset, Disable, Permissive, Strict };
std::string_view to_string(MtlsMode m);

struct PeerAuthentication {
  Meta meta;
  std::optional<Labels> selector;
  MtlsMode mode = MtlsMode::Unset;
  std::vector<std::pair<uint16_t, MtlsMode>> port_level_mtls;  // needs a selector, as in Istio
  SourceLoc port_level_loc;
};

}  // namespace mesh::policy::model
