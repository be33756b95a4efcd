#pragma once
// RetryBudget: Linkerd's (tower's TpsBudget) bound on retries. Over the last `ttl`,
//   retries ≤ requests × ratio + min_per_second × ttl.
// Every original request deposits one token; a retry withdraws 1/ratio tokens (ratio ≤ 1;
// above 1, deposits are worth 1000 and a retry 1000/ratio); a fixed reserve of
// min_per_second × ttl retries is always there. Deposits age out through ten slots of
// ttl/10 each, rotated lazily from the Clock. Defaults are Linkerd's: 0.2, 10/s, 10 s.
// One thread; driven by the Clock given at construction.
#include <array>
#include <cstddef>
#include <cstdint>

#include "daemon/base/clock.hpp"
#include "daemon/base/result.hpp"

namespace mesh::upstream {

struct RetryBudgetConfig {
  double ratio = 0.2;
  uint32_t min_per_second = 10;
  base::Duration ttl = std::chrono::seconds(10);
};

class RetryBudget {
 public:
  // Linkerd's bounds: ttl in [1 s, 60 s], ratio in [0, 1000].
  static base::Result<RetryBudget> create(const RetryBudgetConfig& config, const base::Clock& clock);

  // One original request.
  void deposit();
  // One retry: true (and the tokens are spent) when the budget allows it.
  [[nodiscard]] bool try_withdraw();
  // Retries the budget would allow right now, without spending any.
  int64_t available();

 private:
  static constexpr size_t kSlots = 10;
  RetryBudget(const RetryBudgetConfig& config, const base::Clock& clock);
  void expire();
  int64_t balance() const;

  const base::Clock* clock_;
  base::Duration window_;
  int64_t deposit_amount_;
  int64_t withdraw_amount_;
  int64_t reserve_;
  std::array<int64_t, kSlots> slots_{};
  size_t current_ = 0;
  base::MonoTime slot_start_;
};

}  // namespace mesh::upstream
