#pragma once
// CompiledPolicy: one validated, indexed, immutable snapshot of the mesh policy. The daemon
// holds it as std::shared_ptr<const CompiledPolicy>, swaps the pointer atomically on reload,
// and every reader keeps the snapshot alive for as long as it uses pointers into it (every
// Workload*, Route*, decision RuleRef points into the snapshot). It owns the decoded source
// model, so decisions can name the file, line and column of the rule that made them.
// Construction is compile()'s job; afterwards nothing changes, so any thread may read it.
#include <memory>
#include <string>
#include <string_view>

#include "policy/inventory.hpp"
#include "policy/model.hpp"
#include "policy/options.hpp"
#include "policy/security.hpp"
#include "policy/traffic.hpp"

namespace mesh::policy {

namespace detail {
class Compiler;
}

// What a host name refers to. `host` is the canonical name (a service's FQDN or the external
// host that matched; for a wildcard external, the name that was asked for).
struct HostRef {
  const Service* service = nullptr;
  const External* external = nullptr;
  std::string_view host;
  explicit operator bool() const { return service || external; }
};

class CompiledPolicy {
 public:
  CompiledPolicy(model::PolicySet source, CompileOptions options);
  CompiledPolicy(const CompiledPolicy&) = delete;
  CompiledPolicy& operator=(const CompiledPolicy&) = delete;

  const WorkloadTable& workloads() const { return workloads_; }
  const ServiceTable& services() const { return services_; }
  const ExternalTable& externals() const { return externals_; }
  const GatewayTable& gateways() const { return gateways_; }
  const RouteTable& routes() const { return routes_; }
  const DestinationTable& destinations() const { return destinations_; }
  const AuthorizationTable& authorizations() const { return authorizations_; }
  const PeerAuthTable& peer_authentications() const { return peer_auth_; }
  const model::Telemetry& telemetry() const { return telemetry_; }

  const CompileOptions& options() const { return options_; }
  const model::PolicySet& source() const { return source_; }
  // A fingerprint of the source files (names and bytes), for `meshctl status`.
  const std::string& version() const { return source_version_; }
  // "file:line:col" of a source location.
  std::string where(SourceLoc loc) const;

  // Resolves a host as a client in namespace `from_ns` would write it: an FQDN,
  // "<svc>.<ns>", "<svc>.<ns>.svc", a bare "<svc>" (in from_ns), or an external host.
  HostRef resolve_host(std::string_view host, std::string_view from_ns) const;

 private:
  friend class detail::Compiler;

  model::PolicySet source_;
  CompileOptions options_;
  std::string source_version_;
  WorkloadTable workloads_;
  ServiceTable services_;
  ExternalTable externals_;
  GatewayTable gateways_;
  DestinationTable destinations_;
  RouteTable routes_;
  AuthorizationTable authorizations_;
  PeerAuthTable peer_auth_;
  model::Telemetry telemetry_;
};

using PolicySnapshot = std::shared_ptr<const CompiledPolicy>;

}  // namespace mesh::policy
