#include "daemon/upstream/lb_config.hpp"

#include <fmt/format.h>

namespace mesh::upstream {
namespace {

bool is_prime(uint64_t n) {
  if (n < 2) return false;
  for (uint64_t d = 2; d * d <= n; ++d) {
    if (n % d == 0) return false;
  }
  return true;
}

}  // namespace

base::Status validate(const LbConfig& config) {
  using base::Errc;
  if (config.choice_count == 0) return base::fail(Errc::Invalid, "choice_count must be at least 1");
  if (config.panic_threshold_percent > 100) {
    return base::fail(Errc::Invalid,
                      fmt::format("panic threshold {} % is above 100", config.panic_threshold_percent));
  }
  const auto& ring = config.ring_hash;
  if (ring.minimum_ring_size == 0 || ring.minimum_ring_size > ring.maximum_ring_size) {
    return base::fail(Errc::Invalid, fmt::format("ring hash sizes {}..{} are out of order",
                                                 ring.minimum_ring_size, ring.maximum_ring_size));
  }
  // 2^32 entries of 4 bytes is already far beyond any useful table.
  if (!is_prime(config.maglev.table_size) || config.maglev.table_size > (uint64_t{1} << 32)) {
    return base::fail(Errc::Invalid,
                      fmt::format("maglev table size {} is not a prime below 2^32", config.maglev.table_size));
  }
  if (config.peak_ewma.decay <= base::Duration::zero()) {
    return base::fail(Errc::Invalid, "peak EWMA decay must be positive");
  }
  if (config.peak_ewma.default_rtt < base::Duration::zero() ||
      config.peak_ewma.failure_penalty < base::Duration::zero()) {
    return base::fail(Errc::Invalid, "peak EWMA durations must not be negative");
  }
  return {};
}

std::string_view to_string(LbKind kind) {
  switch (kind) {
    case LbKind::RoundRobin: return "round_robin";
    case LbKind::LeastRequest: return "least_request";
    case LbKind::Random: return "random";
    case LbKind::Passthrough: return "passthrough";
    case LbKind::PeakEwma: return "peak_ewma";
    case LbKind::ConsistentHash: return "consistent_hash";
  }
  return "unknown";
}

}  // namespace mesh::upstream
