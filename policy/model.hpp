#pragma once
// PolicySet: everything a directory of policy files says, as decoded by the TOML codec and
// before cross-resource validation. The file table names the files SourceLocs refer to.
// compile() turns a PolicySet into an indexed, immutable CompiledPolicy.
#include <optional>
#include <string>
#include <vector>

#include "policy/model_mesh.hpp"
#include "policy/model_security.hpp"
#include "policy/model_traffic.hpp"

namespace mesh::policy::model {

struct PolicySet {
  std::vector<std::string> files;
  std::string fingerprint;  // of the source bytes, set by the codec; CompiledPolicy::version()
  std::vector<Workload> workloads;
  std::vector<Service> services;
  std::vector<Route> routes;
  std::vector<DestinationRule> destinations;
  std::vector<Authorization> authorizations;
  std::vector<PeerAuthentication> peer_authentications;
  std::vector<External> externals;
  std::vector<Gateway> gateways;
  std::optional<Telemetry> telemetry;
};

}  // namespace mesh::policy::model
