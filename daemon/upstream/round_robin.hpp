#pragma once
// RoundRobin: weighted round robin as an earliest-deadline-first schedule, as Envoy does it.
// Each endpoint's next deadline is the previous one plus 1/weight; a pick takes the earliest
// deadline, ties in the order endpoints were scheduled. Equal weights therefore alternate
// strictly, and weights 3:1 give three picks to one endpoint for each pick of the other,
// interleaved rather than in bursts. A rebuild keeps the deadlines of surviving endpoints
// (the cursor survives membership changes); a newcomer's first deadline is one period after
// the last pick, so it joins at the end of the current round. Deadlines are doubles, as in
// Envoy: exact for equal (and power-of-two) weights, within rounding otherwise.
#include <cstdint>
#include <vector>

#include "daemon/upstream/load_balancer.hpp"

namespace mesh::upstream {

class RoundRobin final : public LoadBalancer {
 public:
  void rebuild(std::span<Endpoint* const> endpoints) override;
  Endpoint* pick(const PickContext& ctx) override;

 private:
  struct Entry {
    double deadline;
    uint64_t order;  // tie-break: who was scheduled first
    uint64_t id;     // Endpoint::id(), to carry deadlines across a rebuild
    uint32_t weight;
    Endpoint* endpoint;
  };
  static bool later(const Entry& a, const Entry& b);
  static constexpr double kRebaseAt = 1e6;

  std::vector<Entry> heap_;  // min-heap on (deadline, order)
  double now_ = 0;           // the deadline of the last pick
  uint64_t next_order_ = 0;
};

}  // namespace mesh::upstream
