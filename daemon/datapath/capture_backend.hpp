#pragma once
// CaptureBackend: how one enrolled workload's traffic is steered to its listeners, eBPF maps
// and links (EbpfBackend) or nftables rules in its netns (NftBackend). Capture owns one and
// calls it from its control thread only.
#include "daemon/base/result.hpp"
#include "daemon/datapath/listeners.hpp"
#include "daemon/datapath/netns.hpp"
#include "daemon/datapath/workload.hpp"

namespace mesh::datapath {

class CaptureBackend {
 public:
  virtual ~CaptureBackend() = default;
  // All or nothing: on error nothing of this workload is left installed. Called again for an
  // installed workload (restart), it replaces the previous state. `netns` is null for bare
  // metal.
  virtual base::Status install(const WorkloadRecord& record, const Netns* netns,
                               const Listeners& listeners) = 0;
  // Idempotent and best effort: removes whatever of the workload is still there. `netns` is
  // null when the netns is gone (its rules went with it; pinned state is still removed).
  virtual base::Status remove(const WorkloadRecord& record, const Netns* netns) = 0;
};

}  // namespace mesh::datapath
