/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Small predicates shared by the entry files: counters, config, loopback tests and the
 * exclusion lookups. Everything is static __always_inline; no state of its own. */
#ifndef MESH_COMMON_BPF_H
#define MESH_COMMON_BPF_H

#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "ebpf/progs/maps.bpf.h"

#define MESH_ALLOW 1 /* sock_addr / sockops verdict: go on */
#define MESH_DENY 0  /* sock_addr verdict: the syscall fails with EPERM */

static __always_inline void mesh_count(__u32 reason) {
  __u64 *v = bpf_map_lookup_elem(&mesh_stats, &reason);
  if (v) *v += 1;
}

/* NULL until the daemon has written the config: programs then leave traffic alone. */
static __always_inline const struct mesh_config *mesh_cfg(void) {
  __u32 zero = 0;
  const struct mesh_config *cfg = bpf_map_lookup_elem(&mesh_config, &zero);
  if (!cfg || !cfg->enabled) return 0;
  return cfg;
}

static __always_inline int mesh_is_loop4(__u32 ip_be) {
  return (bpf_ntohl(ip_be) >> 24) == 127;
}

static __always_inline int mesh_is_loop6(const __u32 ip_be[4]) {
  return ip_be[0] == 0 && ip_be[1] == 0 && ip_be[2] == 0 && ip_be[3] == bpf_htonl(1);
}

/* ::ffff:a.b.c.d */
static __always_inline int mesh_is_v4_mapped(const __u32 ip_be[4]) {
  return ip_be[0] == 0 && ip_be[1] == 0 && ip_be[2] == bpf_htonl(0xffff);
}

/* Address equality without memcmp (clang 14 emits a call for __builtin_memcmp). */
static __always_inline int mesh_eq4(__u32 a_be, const __u8 b[4]) {
  __u32 b32;
  __builtin_memcpy(&b32, b, 4);
  return a_be == b32;
}

static __always_inline int mesh_eq6(const __u32 a_be[4], const __u8 b[16]) {
  __u32 b32[4];
  __builtin_memcpy(b32, b, 16);
  return a_be[0] == b32[0] && a_be[1] == b32[1] && a_be[2] == b32[2] && a_be[3] == b32[3];
}

static __always_inline int mesh_port_excluded(__u16 port_host, __u8 dir) {
  struct mesh_port_key key;
  __builtin_memset(&key, 0, sizeof(key));
  key.port = port_host;
  key.dir = dir;
  return bpf_map_lookup_elem(&mesh_excl_port, &key) != 0;
}

static __always_inline int mesh_cidr_excluded4(__u32 ip_be, __u8 dir) {
  struct mesh_cidr_key key;
  __builtin_memset(&key, 0, sizeof(key));
  key.prefixlen = 16 + 32;
  key.dir = dir;
  key.family = MESH_AF_INET;
  __builtin_memcpy(key.ip, &ip_be, 4);
  return bpf_map_lookup_elem(&mesh_excl_cidr, &key) != 0;
}

static __always_inline int mesh_cidr_excluded6(const __u32 ip_be[4], __u8 dir) {
  struct mesh_cidr_key key;
  __builtin_memset(&key, 0, sizeof(key));
  key.prefixlen = 16 + 128;
  key.dir = dir;
  key.family = MESH_AF_INET6;
  __builtin_memcpy(key.ip, ip_be, 16);
  return bpf_map_lookup_elem(&mesh_excl_cidr, &key) != 0;
}

#endif /* MESH_COMMON_BPF_H */
