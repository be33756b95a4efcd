#include "daemon/upstream/retry_budget.hpp"

#include <cmath>
#include <numeric>

#include <fmt/format.h>

namespace mesh::upstream {

base::Result<RetryBudget> RetryBudget::create(const RetryBudgetConfig& config, const base::Clock& clock) {
  if (config.ttl < std::chrono::seconds(1) || config.ttl > std::chrono::seconds(60)) {
    return base::fail(base::Errc::Invalid, "retry budget ttl must be between 1 s and 60 s");
  }
  if (!(config.ratio >= 0.0 && config.ratio <= 1000.0)) {
    return base::fail(base::Errc::Invalid, fmt::format("retry ratio {} is outside [0, 1000]", config.ratio));
  }
  return RetryBudget(config, clock);
}

RetryBudget::RetryBudget(const RetryBudgetConfig& config, const base::Clock& clock)
    : clock_(&clock), window_(config.ttl / kSlots), slot_start_(clock.now()) {
  // tower's fixed-point scheme; lround instead of truncation so 1/0.2 is 5, not 4.
  if (config.ratio == 0.0) {
    deposit_amount_ = 0;
    withdraw_amount_ = 1;
  } else if (config.ratio <= 1.0) {
    deposit_amount_ = 1;
    withdraw_amount_ = std::lround(1.0 / config.ratio);
  } else {
    deposit_amount_ = 1000;
    withdraw_amount_ = std::max<int64_t>(1, std::lround(1000.0 / config.ratio));
  }
  const auto ttl_seconds = std::chrono::duration_cast<std::chrono::seconds>(config.ttl).count();
  reserve_ = int64_t{config.min_per_second} * ttl_seconds * withdraw_amount_;
}

void RetryBudget::deposit() {
  expire();
  slots_[current_] += deposit_amount_;
}

bool RetryBudget::try_withdraw() {
  expire();
  if (balance() < withdraw_amount_) return false;
  slots_[current_] -= withdraw_amount_;
  return true;
}

int64_t RetryBudget::available() {
  expire();
  return std::max<int64_t>(0, balance() / withdraw_amount_);
}

void RetryBudget::expire() {
  const base::MonoTime now = clock_->now();
  if (now < slot_start_ + window_) return;
  const auto steps = (now - slot_start_) / window_;
  // Each step opens a new slot and forgets what it held ttl ago.
  for (int64_t i = 0; i < std::min<int64_t>(steps, kSlots); ++i) {
    current_ = (current_ + 1) % kSlots;
    slots_[current_] = 0;
  }
  slot_start_ += steps * window_;
}

int64_t RetryBudget::balance() const {
  return std::accumulate(slots_.begin(), slots_.end(), reserve_);
}

}  // namespace mesh::upstream
