#pragma once
// Endpoint: one member of a Cluster — its address, SPIFFE identity, weight and locality as
// discovery gave them, its health, and the state the balancers read: active requests and a
// peak-EWMA latency estimate driven by the cluster's Clock. The Cluster owns endpoints and
// keeps that state while an address stays across update(); an endpoint removed while it
// still has active requests stays alive until they end. One worker thread owns a Cluster
// and its endpoints; nothing here is synchronised.
#include <cstdint>
#include <string>

#include "daemon/base/clock.hpp"
#include "daemon/base/socket_addr.hpp"
#include "daemon/upstream/lb_config.hpp"
#include "daemon/upstream/rtt_estimator.hpp"

namespace mesh::upstream {

// Healthy endpoints take traffic; Unhealthy ones only in panic mode; Draining ones (being
// removed by discovery) take no new requests but finish the ones they have.
enum class HealthState : uint8_t { Healthy, Unhealthy, Draining };

std::string_view to_string(HealthState health);

// One endpoint as discovery describes it.
struct EndpointSpec {
  base::SocketAddr address;
  std::string identity;   // SPIFFE ID the endpoint must present; empty when not meshed
  uint32_t weight = 1;    // 0 is taken as 1, as Envoy's minimum
  std::string locality;   // "region/zone/subzone", may be empty
  HealthState health = HealthState::Healthy;
};

class Endpoint {
 public:
  Endpoint(uint64_t id, const EndpointSpec& spec, const base::Clock& clock, const PeakEwmaConfig& ewma);
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  // Unique within its cluster for the cluster's lifetime, never reused.
  uint64_t id() const { return id_; }
  const base::SocketAddr& address() const { return spec_.address; }
  const std::string& identity() const { return spec_.identity; }
  uint32_t weight() const { return spec_.weight; }
  const std::string& locality() const { return spec_.locality; }

  // Draining if discovery says so; otherwise Unhealthy if discovery says so or the outlier
  // detector has ejected it; otherwise Healthy.
  HealthState health() const;
  HealthState discovered_health() const { return spec_.health; }
  bool ejected() const { return ejected_; }

  // The caller brackets every request sent to this endpoint.
  void begin_request() { ++active_; }
  void end_request();
  uint32_t active_requests() const { return active_; }

  // One finished request: feeds the latency to the RTT estimate (a failure counts as at
  // least the configured penalty) and counts the outcome.
  void record_result(base::Duration latency, bool success);
  uint64_t successes() const { return successes_; }
  uint64_t failures() const { return failures_; }

  // Peak EWMA's load: the decayed RTT estimate in nanoseconds × (active requests + 1).
  double peak_ewma_cost();
  RttEstimator& rtt() { return rtt_; }

 private:
  friend class Cluster;
  // Takes discovery's new view; returns true when a balancer must rebuild (weight or
  // discovered health changed).
  bool apply(const EndpointSpec& spec);
  bool set_ejected(bool ejected);
  void set_ewma(const PeakEwmaConfig& ewma);

  uint64_t id_;
  EndpointSpec spec_;
  bool ejected_ = false;
  uint32_t active_ = 0;
  uint64_t successes_ = 0;
  uint64_t failures_ = 0;
  base::Duration failure_penalty_;
  RttEstimator rtt_;
};

}  // namespace mesh::upstream
