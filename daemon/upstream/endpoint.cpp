#include "daemon/upstream/endpoint.hpp"

#include <algorithm>

#include "daemon/base/check.hpp"

namespace mesh::upstream {
namespace {

EndpointSpec normalised(EndpointSpec spec) {
  spec.weight = std::max<uint32_t>(spec.weight, 1);
  return spec;
}

}  // namespace

std::string_view to_string(HealthState health) {
  switch (health) {
    case HealthState::Healthy: return "healthy";
    case HealthState::Unhealthy: return "unhealthy";
    case HealthState::Draining: return "draining";
  }
  return "unknown";
}

Endpoint::Endpoint(uint64_t id, const EndpointSpec& spec, const base::Clock& clock,
                   const PeakEwmaConfig& ewma)
    : id_(id),
      spec_(normalised(spec)),
      failure_penalty_(ewma.failure_penalty),
      rtt_(clock, ewma.decay, ewma.default_rtt) {}

HealthState Endpoint::health() const {
  if (spec_.health == HealthState::Draining) return HealthState::Draining;
  if (spec_.health == HealthState::Unhealthy || ejected_) return HealthState::Unhealthy;
  return HealthState::Healthy;
}

void Endpoint::end_request() {
  MESH_CHECK(active_ > 0);
  --active_;
}

void Endpoint::record_result(base::Duration latency, bool success) {
  if (success) {
    ++successes_;
  } else {
    ++failures_;
    latency = std::max(latency, failure_penalty_);
  }
  rtt_.update(latency);
}

double Endpoint::peak_ewma_cost() { return rtt_.estimate() * (static_cast<double>(active_) + 1.0); }

bool Endpoint::apply(const EndpointSpec& spec) {
  EndpointSpec next = normalised(spec);
  const bool rebuild = next.weight != spec_.weight || next.health != spec_.health;
  spec_ = std::move(next);
  return rebuild;
}

bool Endpoint::set_ejected(bool ejected) {
  const HealthState before = health();
  ejected_ = ejected;
  return health() != before;
}

void Endpoint::set_ewma(const PeakEwmaConfig& ewma) {
  failure_penalty_ = ewma.failure_penalty;
  rtt_.set_decay(ewma.decay);
}

}  // namespace mesh::upstream
