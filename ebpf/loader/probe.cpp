#include "ebpf/loader/probe.hpp"

#include <bpf/libbpf.h>

#include <cstring>

namespace mesh::ebpf {
namespace {

ProbeItem result_item(std::string what, int rc) {
  ProbeItem item{std::move(what), rc == 1, {}};
  if (rc < 0) item.detail = std::strerror(-rc);
  return item;
}

}  // namespace

bool ProbeReport::all_ok() const {
  for (const auto& i : items)
    if (!i.ok) return false;
  return true;
}

std::string ProbeReport::missing() const {
  std::string out;
  for (const auto& i : items) {
    if (i.ok) continue;
    if (!out.empty()) out += ", ";
    out += i.what;
    if (!i.detail.empty()) out += " (" + i.detail + ")";
  }
  return out.empty() ? out : "missing " + out;
}

ProbeReport probe_capture_features() {
  struct Prog {
    const char* name;
    bpf_prog_type type;
  };
  static constexpr Prog kProgs[] = {
      {"cgroup_sock_addr", BPF_PROG_TYPE_CGROUP_SOCK_ADDR},
      {"sock_ops", BPF_PROG_TYPE_SOCK_OPS},
      {"sk_lookup", BPF_PROG_TYPE_SK_LOOKUP},
  };
  struct Map {
    const char* name;
    bpf_map_type type;
  };
  static constexpr Map kMaps[] = {
      {"hash", BPF_MAP_TYPE_HASH},           {"lru_hash", BPF_MAP_TYPE_LRU_HASH},
      {"lpm_trie", BPF_MAP_TYPE_LPM_TRIE},   {"sockhash", BPF_MAP_TYPE_SOCKHASH},
      {"percpu_array", BPF_MAP_TYPE_PERCPU_ARRAY},
  };
  struct Helper {
    const char* name;
    bpf_prog_type type;
    bpf_func_id id;
  };
  static constexpr Helper kHelpers[] = {
      {"get_netns_cookie in sock_addr", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_FUNC_get_netns_cookie},
      {"get_socket_cookie in sock_addr", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_FUNC_get_socket_cookie},
      {"bind in sock_addr", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_FUNC_bind},
      {"get_netns_cookie in sock_ops", BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_get_netns_cookie},
      {"sk_assign in sk_lookup", BPF_PROG_TYPE_SK_LOOKUP, BPF_FUNC_sk_assign},
  };
  ProbeReport report;
  for (const auto& p : kProgs)
    report.items.push_back(result_item(std::string("prog_type ") + p.name,
                                       libbpf_probe_bpf_prog_type(p.type, nullptr)));
  for (const auto& m : kMaps)
    report.items.push_back(result_item(std::string("map_type ") + m.name,
                                       libbpf_probe_bpf_map_type(m.type, nullptr)));
  for (const auto& h : kHelpers)
    report.items.push_back(result_item(std::string("helper ") + h.name,
                                       libbpf_probe_bpf_helper(h.type, h.id, nullptr)));
  return report;
}

}  // namespace mesh::ebpf
