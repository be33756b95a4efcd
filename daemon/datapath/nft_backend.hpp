#pragma once
// NftBackend: capture with nftables REDIRECT rules inside each workload netns (see
// nft_ruleset.hpp). Pods only: bare-metal workloads live in the host netns, where the
// daemon does not install rules. Control thread only.
#include "daemon/datapath/capture_backend.hpp"
#include "daemon/datapath/capture_options.hpp"

namespace mesh::datapath {

class NftBackend final : public CaptureBackend {
 public:
  explicit NftBackend(CaptureOptions options) : options_(std::move(options)) {}
  base::Status install(const WorkloadRecord& record, const Netns* netns,
                       const Listeners& listeners) override;
  base::Status remove(const WorkloadRecord& record, const Netns* netns) override;

 private:
  CaptureOptions options_;
};

}  // namespace mesh::datapath
