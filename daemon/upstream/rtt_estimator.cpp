#include "daemon/upstream/rtt_estimator.hpp"

#include <cmath>

namespace mesh::upstream {

RttEstimator::RttEstimator(const base::Clock& clock, base::Duration decay, base::Duration initial)
    : clock_(&clock),
      decay_ns_(static_cast<double>(decay.count())),
      rtt_ns_(static_cast<double>(initial.count())),
      updated_at_(clock.now()) {}

double RttEstimator::update(base::Duration rtt) {
  return observe(static_cast<double>(rtt.count()));
}

double RttEstimator::estimate() { return observe(0.0); }

double RttEstimator::observe(double rtt_ns) {
  const base::MonoTime now = clock_->now();
  if (rtt_ns > rtt_ns_) {
    rtt_ns_ = rtt_ns;  // a peak is taken as is
  } else {
    const auto elapsed = now > updated_at_ ? static_cast<double>((now - updated_at_).count()) : 0.0;
    const double keep = std::exp(-elapsed / decay_ns_);
    rtt_ns_ = rtt_ns_ * keep + rtt_ns * (1.0 - keep);
  }
  if (now > updated_at_) updated_at_ = now;
  return rtt_ns_;
}

}  // namespace mesh::upstream
