/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* cgroup/getpeername4 and getpeername6: a captured socket reports the address the
 * application dialled, not the outbound listener it was redirected to. The original
 * destination was recorded by connect4/6 under the socket cookie. */
#include "ebpf/progs/common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("cgroup/getpeername4")
int mesh_getpeername4(struct bpf_sock_addr *ctx) {
  __u64 cookie = bpf_get_socket_cookie(ctx);
  const struct mesh_orig *orig = bpf_map_lookup_elem(&mesh_orig_ck, &cookie);
  if (!orig || orig->family != MESH_AF_INET) return MESH_ALLOW;
  __u32 ip;
  __builtin_memcpy(&ip, orig->ip, 4);
  ctx->user_ip4 = ip;
  ctx->user_port = bpf_htons(orig->port);
  mesh_count(MESH_STAT_GETPEERNAME_REWRITTEN);
  return MESH_ALLOW;
}

SEC("cgroup/getpeername6")
int mesh_getpeername6(struct bpf_sock_addr *ctx) {
  __u64 cookie = bpf_get_socket_cookie(ctx);
  const struct mesh_orig *orig = bpf_map_lookup_elem(&mesh_orig_ck, &cookie);
  if (!orig) return MESH_ALLOW;
  __u32 ip[4] = {0, 0, 0, 0};
  if (orig->family == MESH_AF_INET) {
    ip[2] = bpf_htonl(0xffff);
    __builtin_memcpy(&ip[3], orig->ip, 4);
  } else {
    __builtin_memcpy(ip, orig->ip, 16);
  }
  ctx->user_ip6[0] = ip[0];
  ctx->user_ip6[1] = ip[1];
  ctx->user_ip6[2] = ip[2];
  ctx->user_ip6[3] = ip[3];
  ctx->user_port = bpf_htons(orig->port);
  mesh_count(MESH_STAT_GETPEERNAME_REWRITTEN);
  return MESH_ALLOW;
}
