#pragma once
// The C++ view of the capture ABI (ebpf/include/mesh_abi.h): layouts checked at compile time
// against the sizes and offsets the BPF programs were written for, and a name for each
// counter reason (used as a metric label). Pure data; any thread.
#include <cstddef>
#include <string_view>

#include "ebpf/include/mesh_abi.h"

namespace mesh::ebpf {

static_assert(sizeof(mesh_workload) == 28);
static_assert(offsetof(mesh_workload, ip4) == 4 && offsetof(mesh_workload, ip6) == 8);
static_assert(offsetof(mesh_workload, out_port) == 24);
static_assert(sizeof(mesh_ip_key) == 20 && offsetof(mesh_ip_key, ip) == 4);
static_assert(sizeof(mesh_orig) == 20 && offsetof(mesh_orig, port) == 2 && offsetof(mesh_orig, ip) == 4);
static_assert(sizeof(mesh_tuple_key) == 32 && offsetof(mesh_tuple_key, family) == 8);
static_assert(offsetof(mesh_tuple_key, port) == 12 && offsetof(mesh_tuple_key, ip) == 16);
static_assert(sizeof(mesh_port_key) == 4 && offsetof(mesh_port_key, dir) == 2);
static_assert(sizeof(mesh_cidr_key) == 24 && offsetof(mesh_cidr_key, dir) == 4);
static_assert(offsetof(mesh_cidr_key, family) == 5 && offsetof(mesh_cidr_key, ip) == 6);
static_assert(sizeof(mesh_config) == 48 && offsetof(mesh_config, hop_src4) == 8);
static_assert(offsetof(mesh_config, hop_src6) == 12 && offsetof(mesh_config, inbound_port) == 28);
static_assert(offsetof(mesh_config, tunnel_port) == 30 && offsetof(mesh_config, enabled) == 32);

inline constexpr size_t kStatCount = MESH_STAT_COUNT;

// Metric label of each counter reason, in enum order.
inline constexpr std::string_view kStatNames[kStatCount] = {
    "connect_redirected",       "connect_skip_mark",          "connect_skip_loopback",
    "connect_skip_self",        "connect_skip_port",          "connect_skip_cidr",
    "connect_deny_record",      "connect_bind_failed",        "sockops_recorded",
    "sockops_record_failed",    "getpeername_rewritten",      "lookup_steered",
    "lookup_skip_hop",          "lookup_skip_tunnel",         "lookup_skip_self",
    "lookup_skip_port",         "lookup_skip_cidr",           "lookup_drop_no_listener",
    "lookup_drop_assign",
};
static_assert(kStatNames[kStatCount - 1] == "lookup_drop_assign");

}  // namespace mesh::ebpf
