#include "daemon/upstream/load_balancer.hpp"

#include "daemon/upstream/least_request.hpp"
#include "daemon/upstream/maglev.hpp"
#include "daemon/upstream/passthrough.hpp"
#include "daemon/upstream/peak_ewma.hpp"
#include "daemon/upstream/random.hpp"
#include "daemon/upstream/ring_hash.hpp"
#include "daemon/upstream/round_robin.hpp"

namespace mesh::upstream {

std::unique_ptr<LoadBalancer> make_load_balancer(const LbConfig& config) {
  switch (config.kind) {
    case LbKind::RoundRobin: return std::make_unique<RoundRobin>();
    case LbKind::LeastRequest: return std::make_unique<LeastRequest>(config.choice_count);
    case LbKind::Random: return std::make_unique<Random>();
    case LbKind::Passthrough: return std::make_unique<Passthrough>();
    case LbKind::PeakEwma: return std::make_unique<PeakEwma>();
    case LbKind::ConsistentHash:
      if (config.hash_algorithm == HashAlgorithm::Maglev) return std::make_unique<Maglev>(config.maglev);
      return std::make_unique<RingHash>(config.ring_hash);
  }
  return std::make_unique<LeastRequest>(config.choice_count);
}

}  // namespace mesh::upstream
