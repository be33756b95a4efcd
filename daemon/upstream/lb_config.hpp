#pragma once
// LbConfig: how one cluster balances, as plain values. The proxy translates policy's
// destination traffic policy into this; this module never sees policy's model. Defaults are
// Envoy's / Istio's (least request, two choices, ring hash 1024, Maglev 65537, panic at 50 %)
// and Linkerd's for peak EWMA (decay 10 s, default RTT 30 ms). See docs/load-balancing.md.
#include <chrono>
#include <cstdint>
#include <string_view>

#include "daemon/base/clock.hpp"
#include "daemon/base/result.hpp"

namespace mesh::upstream {

enum class LbKind : uint8_t { RoundRobin, LeastRequest, Random, Passthrough, PeakEwma, ConsistentHash };
enum class HashAlgorithm : uint8_t { RingHash, Maglev };

struct RingHashConfig {
  uint64_t minimum_ring_size = 1024;             // Envoy's default
  uint64_t maximum_ring_size = 8 * 1024 * 1024;  // Envoy's default
};

struct MaglevConfig {
  uint64_t table_size = 65537;  // Envoy's default; must be prime
};

struct PeakEwmaConfig {
  base::Duration decay = std::chrono::seconds(10);          // Linkerd's default
  base::Duration default_rtt = std::chrono::milliseconds(30);  // Linkerd's seed estimate
  // A failed result counts as at least this long (Linkerd's opt-in load biaser uses 5 s);
  // zero keeps plain peak EWMA, where failures count with their measured latency.
  base::Duration failure_penalty{};
};

struct LbConfig {
  LbKind kind = LbKind::LeastRequest;  // Istio's default
  uint32_t choice_count = 2;           // least request: random candidates compared
  HashAlgorithm hash_algorithm = HashAlgorithm::RingHash;
  RingHashConfig ring_hash;
  MaglevConfig maglev;
  PeakEwmaConfig peak_ewma;
  // Below this percentage of healthy endpoints (draining ones not counted) the cluster
  // balances over healthy and unhealthy endpoints alike (Envoy's panic mode); 0 disables it.
  uint32_t panic_threshold_percent = 50;
};

// Rejects values the balancers cannot work with: a choice count of 0, a Maglev table size
// that is not prime, ring sizes out of order, a non-positive decay, a threshold above 100.
base::Status validate(const LbConfig& config);

std::string_view to_string(LbKind kind);

}  // namespace mesh::upstream
