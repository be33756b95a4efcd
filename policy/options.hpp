#pragma once
// CompileOptions: the mesh-wide facts a policy set is compiled against. They come from the
// daemon's settings (meshd.toml) or meshctl's flags, not from the policy files, so that one
// set of files means the same thing on every node.
#include <string>

#include "policy/limits.hpp"

namespace mesh::policy {

struct CompileOptions {
  std::string trust_domain = "cluster.local";    // spiffe://<trust_domain>/ns/<ns>/sa/<sa>
  std::string cluster_domain = "cluster.local";  // <service>.<ns>.svc.<cluster_domain>
  std::string root_namespace = "istio-system";   // policies here without a selector are mesh-wide
  Limits limits;
};

}  // namespace mesh::policy
