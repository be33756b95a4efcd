#pragma once
// Generates a synthetic mesh as TOML for the policy benchmark: namespaces of services, each
// with two workloads (v1 and v2), a destination with two subsets, a route (header match,
// then a 90/10 split) and an ALLOW and a DENY authorization selecting it; optionally extra
// namespace-wide policies that every decision in one namespace must scan.
#include <cstdint>
#include <string>

namespace mesh::bench {

struct MeshShape {
  uint32_t namespaces = 100;
  uint32_t services = 5000;        // two workloads each
  uint32_t policy_services = 5000; // services that get an ALLOW and a DENY policy
  uint32_t namespace_wide = 0;     // extra ALLOW policies without selector in namespace ns0
};

std::string generate_mesh(const MeshShape& shape);

// Addresses of the generated mesh: workload w of service s is 198.18.x.y.
uint32_t workload_ip(uint32_t service, uint32_t version);
std::string service_namespace(uint32_t service, const MeshShape& shape);

}  // namespace mesh::bench
