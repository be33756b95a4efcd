/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* sockops: at TCP_CONNECT_CB (the local port is assigned, the SYN not yet sent, so nothing
 * races with the daemon's accept) copy a captured socket's original destination from the
 * cookie-keyed map into mesh_orig_tup, keyed as the daemon will see the client after
 * accept(): (netns cookie, client address, client port). */
#include "ebpf/progs/common.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("sockops")
int mesh_sockops(struct bpf_sock_ops *skops) {
  if (skops->op != BPF_SOCK_OPS_TCP_CONNECT_CB) return MESH_ALLOW;
  __u64 cookie = bpf_get_socket_cookie(skops);
  const struct mesh_orig *orig = bpf_map_lookup_elem(&mesh_orig_ck, &cookie);
  if (!orig) return MESH_ALLOW;
  struct mesh_tuple_key key;
  __builtin_memset(&key, 0, sizeof(key));
  key.netns_cookie = bpf_get_netns_cookie(skops);
  key.port = (__u16)skops->local_port; /* host order in bpf_sock_ops */
  if (skops->family == MESH_AF_INET) {
    key.family = MESH_AF_INET;
    __u32 ip = skops->local_ip4;
    __builtin_memcpy(key.ip, &ip, 4);
  } else {
    __u32 ip[4] = {skops->local_ip6[0], skops->local_ip6[1], skops->local_ip6[2],
                   skops->local_ip6[3]};
    if (mesh_is_v4_mapped(ip)) {
      key.family = MESH_AF_INET;
      __builtin_memcpy(key.ip, &ip[3], 4);
    } else {
      key.family = MESH_AF_INET6;
      __builtin_memcpy(key.ip, ip, 16);
    }
  }
  struct mesh_orig value = *orig;
  if (bpf_map_update_elem(&mesh_orig_tup, &key, &value, BPF_ANY) == 0)
    mesh_count(MESH_STAT_SOCKOPS_RECORDED);
  else
    mesh_count(MESH_STAT_SOCKOPS_RECORD_FAILED);
  return MESH_ALLOW;
}
