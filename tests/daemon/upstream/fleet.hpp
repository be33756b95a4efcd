#pragma once
// Test support for the balancer tests: a set of endpoints on a FakeClock, built without a
// Cluster, and a histogram of picks.
#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "daemon/base/clock.hpp"
#include "daemon/base/random.hpp"
#include "daemon/upstream/endpoint.hpp"
#include "daemon/upstream/load_balancer.hpp"

namespace mesh::upstream::test {

inline base::SocketAddr addr(std::string_view text) { return base::SocketAddr::parse(text).value(); }

inline EndpointSpec spec(std::string_view address, uint32_t weight = 1,
                         HealthState health = HealthState::Healthy) {
  return EndpointSpec{addr(address), "", weight, "", health};
}

// "10.0.0.<i+1>:8080" for i in [0, n).
inline std::vector<EndpointSpec> specs(int n, int first = 0) {
  std::vector<EndpointSpec> out;
  for (int i = first; i < first + n; ++i) out.push_back(spec("10.0.0." + std::to_string(i + 1) + ":8080"));
  return out;
}

struct Fleet {
  base::FakeClock clock;
  PeakEwmaConfig ewma;
  std::vector<std::unique_ptr<Endpoint>> owned;
  std::vector<Endpoint*> endpoints;
  uint64_t next_id = 1;

  Endpoint& add(std::string_view address, uint32_t weight = 1) {
    owned.push_back(std::make_unique<Endpoint>(next_id++, spec(address, weight), clock, ewma));
    endpoints.push_back(owned.back().get());
    return *owned.back();
  }
  std::span<Endpoint* const> all() const { return endpoints; }
};

// How many of `n` picks went to each address.
inline std::map<std::string, int> histogram(LoadBalancer& lb, int n, base::RandomSource& random) {
  std::map<std::string, int> out;
  for (int i = 0; i < n; ++i) {
    Endpoint* e = lb.pick(PickContext{random});
    out[e ? e->address().to_string() : "none"]++;
  }
  return out;
}

}  // namespace mesh::upstream::test
