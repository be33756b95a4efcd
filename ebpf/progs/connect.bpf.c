/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Outbound capture: cgroup/connect4 and cgroup/connect6. Attached once to the capture cgroup
 * root. For a TCP connect from an enrolled workload (its netns cookie is in mesh_pods, or, in
 * the host netns, its cgroup id is in mesh_cgroups) that is not excluded, record the original
 * destination by socket cookie, bind the socket to the workload's address (so getsockname
 * looks normal and the daemon sees the workload address as peer) and rewrite the destination
 * to the outbound listener on loopback inside the same netns. */
#include "ebpf/progs/common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline const struct mesh_workload *mesh_enrolled(struct bpf_sock_addr *ctx) {
  __u64 netns = bpf_get_netns_cookie(ctx);
  const struct mesh_workload *wl = bpf_map_lookup_elem(&mesh_pods, &netns);
  if (wl) return wl;
  __u64 cgroup = bpf_get_current_cgroup_id();
  return bpf_map_lookup_elem(&mesh_cgroups, &cgroup);
}

static __always_inline int mesh_own_socket(struct bpf_sock_addr *ctx,
                                           const struct mesh_config *cfg) {
  struct bpf_sock *sk = ctx->sk;
  return sk && (sk->mark & cfg->mark_mask) == cfg->mark;
}

/* Records the original destination; 0 on success. */
static __always_inline int mesh_record(struct bpf_sock_addr *ctx, __u16 family,
                                       const void *ip, __u32 ip_len, __u16 port_host) {
  struct mesh_orig orig;
  __builtin_memset(&orig, 0, sizeof(orig));
  orig.family = family;
  orig.port = port_host;
  if (ip_len == 4)
    __builtin_memcpy(orig.ip, ip, 4);
  else
    __builtin_memcpy(orig.ip, ip, 16);
  __u64 cookie = bpf_get_socket_cookie(ctx);
  return bpf_map_update_elem(&mesh_orig_ck, &cookie, &orig, BPF_ANY);
}

/* Common decisions for an IPv4 destination (also v4-mapped in connect6). Returns 1 when
 * the connect must be captured, 0 when it goes direct (and counts why). */
static __always_inline int mesh_capture4(const struct mesh_workload *wl, __u32 dst_be,
                                         __u16 port_host) {
  if (mesh_is_loop4(dst_be)) {
    mesh_count(MESH_STAT_CONNECT_SKIP_LOOPBACK);
    return 0;
  }
  if ((wl->flags & MESH_WL_HAS_V4) && mesh_eq4(dst_be, wl->ip4)) {
    mesh_count(MESH_STAT_CONNECT_SKIP_SELF);
    return 0;
  }
  if (mesh_port_excluded(port_host, MESH_DIR_OUTBOUND)) {
    mesh_count(MESH_STAT_CONNECT_SKIP_PORT);
    return 0;
  }
  if (mesh_cidr_excluded4(dst_be, MESH_DIR_OUTBOUND)) {
    mesh_count(MESH_STAT_CONNECT_SKIP_CIDR);
    return 0;
  }
  return 1;
}

SEC("cgroup/connect4")
int mesh_connect4(struct bpf_sock_addr *ctx) {
  if (ctx->protocol != IPPROTO_TCP) return MESH_ALLOW;
  const struct mesh_config *cfg = mesh_cfg();
  if (!cfg) return MESH_ALLOW;
  const struct mesh_workload *wl = mesh_enrolled(ctx);
  if (!wl) return MESH_ALLOW;
  if (mesh_own_socket(ctx, cfg)) {
    mesh_count(MESH_STAT_CONNECT_SKIP_MARK);
    return MESH_ALLOW;
  }
  __u32 dst = ctx->user_ip4;
  __u16 port = bpf_ntohs((__u16)ctx->user_port);
  if (!mesh_capture4(wl, dst, port)) return MESH_ALLOW;
  if (mesh_record(ctx, MESH_AF_INET, &dst, 4, port) != 0) {
    mesh_count(MESH_STAT_CONNECT_DENY_RECORD);
    return MESH_DENY; /* fail closed: never let it bypass the mesh */
  }
  if (wl->flags & MESH_WL_HAS_V4) {
    struct sockaddr_in sa;
    __builtin_memset(&sa, 0, sizeof(sa));
    sa.sin_family = MESH_AF_INET;
    __builtin_memcpy(&sa.sin_addr.s_addr, wl->ip4, 4);
    if (bpf_bind(ctx, (struct sockaddr *)&sa, sizeof(sa)) != 0)
      mesh_count(MESH_STAT_CONNECT_BIND_FAILED);
  }
  ctx->user_ip4 = bpf_htonl(0x7f000001);
  ctx->user_port = bpf_htons(wl->out_port);
  mesh_count(MESH_STAT_CONNECT_REDIRECTED);
  return MESH_ALLOW;
}

/* Decisions for a native IPv6 destination. */
static __always_inline int mesh_capture6(const struct mesh_workload *wl, const __u32 dst[4],
                                         __u16 port_host) {
  if (mesh_is_loop6(dst)) {
    mesh_count(MESH_STAT_CONNECT_SKIP_LOOPBACK);
    return 0;
  }
  if ((wl->flags & MESH_WL_HAS_V6) && mesh_eq6(dst, wl->ip6)) {
    mesh_count(MESH_STAT_CONNECT_SKIP_SELF);
    return 0;
  }
  if (mesh_port_excluded(port_host, MESH_DIR_OUTBOUND)) {
    mesh_count(MESH_STAT_CONNECT_SKIP_PORT);
    return 0;
  }
  if (mesh_cidr_excluded6(dst, MESH_DIR_OUTBOUND)) {
    mesh_count(MESH_STAT_CONNECT_SKIP_CIDR);
    return 0;
  }
  return 1;
}

SEC("cgroup/connect6")
int mesh_connect6(struct bpf_sock_addr *ctx) {
  if (ctx->protocol != IPPROTO_TCP) return MESH_ALLOW;
  const struct mesh_config *cfg = mesh_cfg();
  if (!cfg) return MESH_ALLOW;
  const struct mesh_workload *wl = mesh_enrolled(ctx);
  if (!wl) return MESH_ALLOW;
  if (mesh_own_socket(ctx, cfg)) {
    mesh_count(MESH_STAT_CONNECT_SKIP_MARK);
    return MESH_ALLOW;
  }
  __u32 dst[4] = {ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3]};
  __u16 port = bpf_ntohs((__u16)ctx->user_port);
  int mapped = mesh_is_v4_mapped(dst);
  if (mapped ? !mesh_capture4(wl, dst[3], port) : !mesh_capture6(wl, dst, port))
    return MESH_ALLOW;
  int rec = mapped ? mesh_record(ctx, MESH_AF_INET, &dst[3], 4, port)
                   : mesh_record(ctx, MESH_AF_INET6, dst, 16, port);
  if (rec != 0) {
    mesh_count(MESH_STAT_CONNECT_DENY_RECORD);
    return MESH_DENY;
  }
  struct sockaddr_in6 sa;
  __builtin_memset(&sa, 0, sizeof(sa));
  sa.sin6_family = MESH_AF_INET6;
  int bind = 0;
  if (mapped && (wl->flags & MESH_WL_HAS_V4)) {
    sa.sin6_addr.in6_u.u6_addr32[2] = bpf_htonl(0xffff);
    __builtin_memcpy(&sa.sin6_addr.in6_u.u6_addr32[3], wl->ip4, 4);
    bind = 1;
  } else if (!mapped && (wl->flags & MESH_WL_HAS_V6)) {
    __builtin_memcpy(&sa.sin6_addr, wl->ip6, 16);
    bind = 1;
  }
  if (bind && bpf_bind(ctx, (struct sockaddr *)&sa, sizeof(sa)) != 0)
    mesh_count(MESH_STAT_CONNECT_BIND_FAILED);
  ctx->user_ip6[0] = 0;
  ctx->user_ip6[1] = 0;
  ctx->user_ip6[2] = mapped ? bpf_htonl(0xffff) : 0;
  ctx->user_ip6[3] = mapped ? bpf_htonl(0x7f000001) : bpf_htonl(1);
  ctx->user_port = bpf_htons(wl->out_port);
  mesh_count(MESH_STAT_CONNECT_REDIRECTED);
  return MESH_ALLOW;
}
