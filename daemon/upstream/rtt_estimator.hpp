#pragma once
// RttEstimator: Linkerd's (tower's) peak-EWMA estimate of an endpoint's round-trip time.
// A sample above the estimate replaces it at once (peak); a sample below it is blended in
// with weight 1 - exp(-Δt/decay), Δt being the time since the previous update. Reading the
// estimate first decays it toward zero as if a zero sample had arrived, so a slow endpoint
// that stops getting traffic is tried again after a while. Time comes from the Clock given
// at construction; one owner thread, like the Endpoint that holds it.
#include "daemon/base/clock.hpp"

namespace mesh::upstream {

class RttEstimator {
 public:
  RttEstimator(const base::Clock& clock, base::Duration decay, base::Duration initial);

  // Feeds one observed round-trip time; returns the new estimate in nanoseconds.
  double update(base::Duration rtt);
  // The estimate now, in nanoseconds, after decaying it for the time since the last update.
  double estimate();
  // The estimate as of the last update, without decaying it (for inspection and metrics).
  double last_estimate() const { return rtt_ns_; }

  void set_decay(base::Duration decay) { decay_ns_ = static_cast<double>(decay.count()); }

 private:
  double observe(double rtt_ns);

  const base::Clock* clock_;
  double decay_ns_;
  double rtt_ns_;
  base::MonoTime updated_at_;
};

}  // namespace mesh::upstream
