/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The ABI shared by the capture programs (ebpf/progs, BPF C) and the loader and datapath
 * (C++): map keys and values, the config record, the counter reasons and the fixed numbers.
 * Every struct has explicit padding so that BPF C and C++ agree on the layout without relying
 * on the compiler, and the C++ side static_asserts sizes and offsets (ebpf/loader/abi.hpp).
 * Changing a key or value layout means renaming the map with a _v2 suffix and bumping
 * MESH_PIN_VERSION, because a pinned map is reused only when its definition is identical.
 *
 * Byte orders: addresses are always network order (bytes as on the wire); ports in these
 * structs are always host order. The kernel's context fields differ per field (see
 * docs/capture.md); the programs convert at the edge. */
#ifndef MESH_EBPF_ABI_H
#define MESH_EBPF_ABI_H

#ifdef __cplusplus
#include <cstdint>
typedef uint8_t mesh_u8;
typedef uint16_t mesh_u16;
typedef uint32_t mesh_u32;
typedef uint64_t mesh_u64;
#else
#include <linux/types.h>
typedef __u8 mesh_u8;
typedef __u16 mesh_u16;
typedef __u32 mesh_u32;
typedef __u64 mesh_u64;
#endif

/* Pinned state lives under <pin root>/meshd/v<MESH_PIN_VERSION>/{maps,links}. */
#define MESH_PIN_VERSION 1

/* Address families as the kernel numbers them (AF_INET, AF_INET6). */
#define MESH_AF_INET 2
#define MESH_AF_INET6 10

/* Sizes of the maps. The LRU maps hold one entry per connection set-up in flight (outbound
 * original destinations): an evicted entry means the daemon cannot learn the destination
 * and resets that connection, counted as a missing original destination. */
#define MESH_MAX_WORKLOADS 4096
#define MESH_MAX_ORIG 65536
#define MESH_MAX_EXCL 1024

/* mesh_workload.flags */
#define MESH_WL_HAS_V4 0x1u
#define MESH_WL_HAS_V6 0x2u

/* Value of mesh_pods (key: u64 netns cookie), mesh_cgroups (key: u64 cgroup id) and
 * mesh_pod_ips (key: mesh_ip_key). 28 bytes. */
struct mesh_workload {
  mesh_u32 flags;     /* MESH_WL_* */
  mesh_u8 ip4[4];     /* the workload's IPv4 address, network order (valid if HAS_V4) */
  mesh_u8 ip6[16];    /* the workload's IPv6 address, network order (valid if HAS_V6) */
  mesh_u16 out_port;  /* outbound listener port, host order (15001 in a pod netns; a
                         per-workload port for cgroup enrollment in the host netns) */
  mesh_u16 pad;
};

/* Key of mesh_pod_ips and mesh_inbound: one workload address. 20 bytes. IPv4 uses ip[0..3]
 * and zeroes the rest. */
struct mesh_ip_key {
  mesh_u32 family;  /* MESH_AF_INET or MESH_AF_INET6 */
  mesh_u8 ip[16];   /* network order */
};

/* An original destination. Value of mesh_orig_ck (key: u64 socket cookie) and mesh_orig_tup.
 * 20 bytes. */
struct mesh_orig {
  mesh_u16 family;  /* MESH_AF_INET or MESH_AF_INET6 (v4-mapped destinations are AF_INET) */
  mesh_u16 port;    /* host order */
  mesh_u8 ip[16];   /* network order; IPv4 in ip[0..3] */
};

/* Key of mesh_orig_tup: the captured client socket as the daemon sees it after accept():
 * the workload's netns cookie and the peer address of the accepted socket. 32 bytes. */
struct mesh_tuple_key {
  mesh_u64 netns_cookie;
  mesh_u32 family;  /* MESH_AF_INET or MESH_AF_INET6 (v4-mapped clients are AF_INET) */
  mesh_u16 port;    /* client port, host order */
  mesh_u16 pad;
  mesh_u8 ip[16];   /* client address, network order */
};

/* Directions used by the exclusion maps. */
#define MESH_DIR_OUTBOUND 1
#define MESH_DIR_INBOUND 2

/* Key of mesh_excl_port: a destination port excluded in one direction. 4 bytes. */
struct mesh_port_key {
  mesh_u16 port;  /* host order */
  mesh_u8 dir;    /* MESH_DIR_* */
  mesh_u8 pad;
};

/* Key of the LPM trie mesh_excl_cidr. prefixlen counts bits of data[] = dir, family, ip, so
 * a CIDR a/n is stored with prefixlen 16 + n. Outbound CIDRs match destinations, inbound
 * CIDRs match sources. 24 bytes. */
struct mesh_cidr_key {
  mesh_u32 prefixlen;
  mesh_u8 dir;     /* MESH_DIR_* */
  mesh_u8 family;  /* MESH_AF_INET or MESH_AF_INET6 */
  mesh_u8 ip[16];  /* network order */
  mesh_u8 pad[2];
};

/* The single entry of mesh_config. Written by the daemon at start-up. 48 bytes. */
struct mesh_config {
  mesh_u32 mark;           /* SO_MARK the daemon sets on its own sockets (0x539) */
  mesh_u32 mark_mask;      /* bits of the mark compared (0xfff) */
  mesh_u8 hop_src4[4];     /* source of the daemon's inbound hop to the app: 127.0.0.6 */
  mesh_u8 hop_src6[16];    /* the same for IPv6: ::1 (the only loopback address IPv6 has) */
  mesh_u16 inbound_port;   /* 15006, host order (informational: steering uses mesh_inbound) */
  mesh_u16 tunnel_port;    /* 15008, host order: never steered by sk_lookup */
  mesh_u32 enabled;        /* 0 until the daemon has written the config: programs pass */
  mesh_u8 pad[12];
};

/* Counter reasons: index into the per-CPU array mesh_stats. Append only. */
enum mesh_stat {
  MESH_STAT_CONNECT_REDIRECTED = 0,  /* connect rewritten to the outbound listener */
  MESH_STAT_CONNECT_SKIP_MARK,       /* the daemon's own socket (SO_MARK) */
  MESH_STAT_CONNECT_SKIP_LOOPBACK,   /* destination 127/8 or ::1 */
  MESH_STAT_CONNECT_SKIP_SELF,       /* destination is the workload's own address */
  MESH_STAT_CONNECT_SKIP_PORT,       /* excluded outbound port */
  MESH_STAT_CONNECT_SKIP_CIDR,       /* excluded outbound CIDR */
  MESH_STAT_CONNECT_DENY_RECORD,     /* original destination could not be stored: EPERM */
  MESH_STAT_CONNECT_BIND_FAILED,     /* bpf_bind to the workload address failed (still captured) */
  MESH_STAT_SOCKOPS_RECORDED,        /* original destination keyed by tuple */
  MESH_STAT_SOCKOPS_RECORD_FAILED,   /* tuple map update failed */
  MESH_STAT_GETPEERNAME_REWRITTEN,   /* app shown the address it dialled */
  MESH_STAT_LOOKUP_STEERED,          /* inbound SYN steered to the inbound listener */
  MESH_STAT_LOOKUP_SKIP_HOP,         /* the daemon's hop from 127.0.0.6 / ::6 */
  MESH_STAT_LOOKUP_SKIP_TUNNEL,      /* destination port is the tunnel port */
  MESH_STAT_LOOKUP_SKIP_SELF,        /* source is the workload's own address */
  MESH_STAT_LOOKUP_SKIP_PORT,        /* excluded inbound port */
  MESH_STAT_LOOKUP_SKIP_CIDR,        /* excluded inbound source CIDR */
  MESH_STAT_LOOKUP_DROP_NO_LISTENER, /* enrolled but no listener (daemon down): RST */
  MESH_STAT_LOOKUP_DROP_ASSIGN,      /* bpf_sk_assign failed: RST */
  MESH_STAT_COUNT
};

#endif /* MESH_EBPF_ABI_H */
