/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* sk_lookup: inbound capture, one link per enrolled pod netns. A TCP SYN to an enrolled pod
 * address, on any port but the tunnel port and excluded ports, is steered to the daemon's
 * inbound listener for that address (mesh_inbound). The accepted socket's getsockname() is
 * the original destination. Skipped: the daemon's own hop to the application (source
 * 127.0.0.6 or ::1, since sk_lookup sees no marks), self-calls and excluded sources. An
 * enrolled address without a listener (daemon down) gets SK_DROP, which is an RST: fail
 * closed. bpf_get_netns_cookie is not available here (6.18), hence keying by address. */
#include "ebpf/progs/common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline int mesh_skip(struct bpf_sk_lookup *ctx, const struct mesh_config *cfg) {
  __u16 port = (__u16)ctx->local_port; /* host order in bpf_sk_lookup */
  if (port == cfg->tunnel_port) {
    mesh_count(MESH_STAT_LOOKUP_SKIP_TUNNEL);
    return 1;
  }
  int v4 = ctx->family == MESH_AF_INET;
  __u32 rem6[4] = {ctx->remote_ip6[0], ctx->remote_ip6[1], ctx->remote_ip6[2],
                   ctx->remote_ip6[3]};
  __u32 rem4 = ctx->remote_ip4;
  int hop = v4 ? mesh_eq4(rem4, cfg->hop_src4)
               : mesh_eq6(rem6, cfg->hop_src6);
  if (hop) {
    mesh_count(MESH_STAT_LOOKUP_SKIP_HOP);
    return 1;
  }
  int self = v4 ? rem4 == ctx->local_ip4
                : (rem6[0] == ctx->local_ip6[0] && rem6[1] == ctx->local_ip6[1] &&
                   rem6[2] == ctx->local_ip6[2] && rem6[3] == ctx->local_ip6[3]);
  if (self) {
    mesh_count(MESH_STAT_LOOKUP_SKIP_SELF);
    return 1;
  }
  if (mesh_port_excluded(port, MESH_DIR_INBOUND)) {
    mesh_count(MESH_STAT_LOOKUP_SKIP_PORT);
    return 1;
  }
  int cidr = v4 ? mesh_cidr_excluded4(rem4, MESH_DIR_INBOUND)
                : mesh_cidr_excluded6(rem6, MESH_DIR_INBOUND);
  if (cidr) {
    mesh_count(MESH_STAT_LOOKUP_SKIP_CIDR);
    return 1;
  }
  return 0;
}

SEC("sk_lookup")
int mesh_sk_lookup(struct bpf_sk_lookup *ctx) {
  if (ctx->protocol != IPPROTO_TCP) return SK_PASS;
  const struct mesh_config *cfg = mesh_cfg();
  if (!cfg) return SK_PASS;
  struct mesh_ip_key key;
  __builtin_memset(&key, 0, sizeof(key));
  if (ctx->family == MESH_AF_INET) {
    key.family = MESH_AF_INET;
    __u32 ip = ctx->local_ip4;
    __builtin_memcpy(key.ip, &ip, 4);
  } else {
    key.family = MESH_AF_INET6;
    __u32 ip[4] = {ctx->local_ip6[0], ctx->local_ip6[1], ctx->local_ip6[2], ctx->local_ip6[3]};
    __builtin_memcpy(key.ip, ip, 16);
  }
  if (!bpf_map_lookup_elem(&mesh_pod_ips, &key)) return SK_PASS; /* not a workload address */
  if (mesh_skip(ctx, cfg)) return SK_PASS;
  struct bpf_sock *sk = bpf_map_lookup_elem(&mesh_inbound, &key);
  if (!sk) {
    mesh_count(MESH_STAT_LOOKUP_DROP_NO_LISTENER);
    return SK_DROP;
  }
  long err = bpf_sk_assign(ctx, sk, 0);
  bpf_sk_release(sk);
  if (err) {
    mesh_count(MESH_STAT_LOOKUP_DROP_ASSIGN);
    return SK_DROP;
  }
  mesh_count(MESH_STAT_LOOKUP_STEERED);
  return SK_PASS;
}
