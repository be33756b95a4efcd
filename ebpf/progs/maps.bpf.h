/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The capture maps, shared by every entry file. Each entry file is compiled on its own and
 * the objects are linked into one (bpftool gen object), so the definitions are __weak and
 * identical; the linker keeps one of each. Every map is pinned by name, so a restarted
 * daemon reuses them (same definition required; see mesh_abi.h on versioning). */
#ifndef MESH_MAPS_BPF_H
#define MESH_MAPS_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "ebpf/include/mesh_abi.h"

/* Enrolled pods by netns cookie (outbound capture, connect4/6). */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, MESH_MAX_WORKLOADS);
  __type(key, __u64);
  __type(value, struct mesh_workload);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} mesh_pods SEC(".maps") __weak;

/* Enrolled bare-metal services by cgroup v2 id (outbound capture in the host netns). */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, MESH_MAX_WORKLOADS);
  __type(key, __u64);
  __type(value, struct mesh_workload);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} mesh_cgroups SEC(".maps") __weak;

/* Enrolled pods by address (inbound capture: sk_lookup cannot read the netns cookie). */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, MESH_MAX_WORKLOADS);
  __type(key, struct mesh_ip_key);
  __type(value, struct mesh_workload);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} mesh_pod_ips SEC(".maps") __weak;

/* The inbound listener of each enrolled pod address. Entries vanish when the listener
 * closes, so a dead daemon fails closed (sk_lookup answers SK_DROP, an RST). */
struct {
  __uint(type, BPF_MAP_TYPE_SOCKHASH);
  __uint(max_entries, MESH_MAX_WORKLOADS);
  __type(key, struct mesh_ip_key);
  __type(value, __u64);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} mesh_inbound SEC(".maps") __weak;

/* Original destination by socket cookie: connect4/6 → getpeername, sockops. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, MESH_MAX_ORIG);
  __type(key, __u64);
  __type(value, struct mesh_orig);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} mesh_orig_ck SEC(".maps") __weak;

/* Original destination by (netns cookie, client address): sockops → daemon, which deletes
 * the entry after reading it. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, MESH_MAX_ORIG);
  __type(key, struct mesh_tuple_key);
  __type(value, struct mesh_orig);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} mesh_orig_tup SEC(".maps") __weak;

/* Excluded ports, per direction. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, MESH_MAX_EXCL);
  __type(key, struct mesh_port_key);
  __type(value, __u32);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} mesh_excl_port SEC(".maps") __weak;

/* Excluded CIDRs, per direction (outbound: destination; inbound: source). */
struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, MESH_MAX_EXCL);
  __type(key, struct mesh_cidr_key);
  __type(value, __u32);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} mesh_excl_cidr SEC(".maps") __weak;

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct mesh_config);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} mesh_config SEC(".maps") __weak;

/* Per-reason counters (enum mesh_stat), pinned so they continue across restarts. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, MESH_STAT_COUNT);
  __type(key, __u32);
  __type(value, __u64);
  __uint(pinning, LIBBPF_PIN_BY_NAME);
} mesh_stats SEC(".maps") __weak;

#endif /* MESH_MAPS_BPF_H */
