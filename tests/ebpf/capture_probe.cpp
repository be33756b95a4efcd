// Feature probe (privileged suite): prints, item by item, whether the running kernel has
// every program type, map type and helper eBPF capture needs, and which capture mode `auto`
// would therefore choose. Exit 0 when eBPF capture is possible, 77 (skip) when not root or a
// feature is missing. The capture scenario tests use it to decide whether to skip.
#include <unistd.h>

#include <cstdio>

#include "ebpf/loader/probe.hpp"

int main() {
  if (::geteuid() != 0) {
    std::printf("SKIP: needs root\n");
    return 77;
  }
  auto report = mesh::ebpf::probe_capture_features();
  for (const auto& item : report.items)
    std::printf("%-4s %s%s%s\n", item.ok ? "ok" : "MISS", item.what.c_str(), item.detail.empty() ? "" : ": ",
                item.detail.c_str());
  std::printf("auto capture mode would be: %s\n", report.all_ok() ? "ebpf" : "nftables");
  if (!report.all_ok()) {
    std::printf("SKIP: %s\n", report.missing().c_str());
    return 77;
  }
  return 0;
}
