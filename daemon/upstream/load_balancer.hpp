#pragma once
// LoadBalancer: the interface every balancer implements, and what a pick needs. A Cluster
// owns one balancer and hands it the endpoints eligible for traffic (healthy ones, or all
// in panic mode) through rebuild() whenever that set or a weight changes — never per pick.
// The endpoint list is sorted by address, so every worker builds the same structures from
// the same membership. rebuild() must not dereference endpoints from a previous rebuild
// (they may be gone); state that should survive is keyed by Endpoint::id(). One thread.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "daemon/base/random.hpp"
#include "daemon/base/socket_addr.hpp"
#include "daemon/upstream/endpoint.hpp"
#include "daemon/upstream/lb_config.hpp"

namespace mesh::upstream {

struct PickContext {
  base::RandomSource& random;
  // Consistent hashing's key (xxhash64 of a header, cookie, source address...); a ring hash
  // or Maglev pick without one uses a random value, as Envoy does.
  std::optional<uint64_t> hash = std::nullopt;
  // Passthrough: the address the client originally asked for.
  std::optional<base::SocketAddr> original_destination = std::nullopt;
};

class LoadBalancer {
 public:
  virtual ~LoadBalancer() = default;
  virtual void rebuild(std::span<Endpoint* const> endpoints) = 0;
  // nullptr only when the last rebuild had no endpoints (or, for Passthrough, when the
  // original destination is not a member).
  virtual Endpoint* pick(const PickContext& ctx) = 0;
};

std::unique_ptr<LoadBalancer> make_load_balancer(const LbConfig& config);

}  // namespace mesh::upstream
