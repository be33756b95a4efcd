#include "daemon/upstream/retry_budget.hpp"

#include <doctest/doctest.h>

using namespace mesh;
using namespace mesh::upstream;
using namespace std::chrono_literals;

namespace {

int withdraw_all(RetryBudget& b) {
  int n = 0;
  while (b.try_withdraw()) ++n;
  return n;
}

}  // namespace

TEST_CASE("with no traffic the reserve allows min_per_second × ttl retries") {
  base::FakeClock clock;
  auto b = RetryBudget::create(RetryBudgetConfig{}, clock).value();
  CHECK(b.available() == 100);
  CHECK(withdraw_all(b) == 100);
  CHECK(b.available() == 0);
}

TEST_CASE("each request adds ratio retries on top of the reserve") {
  struct Row {
    double ratio;
    uint32_t min_per_second;
    int requests;
    int want;
  };
  const Row rows[] = {
      {0.2, 10, 100, 100 + 20},
      {0.2, 0, 1000, 200},
      {0.5, 0, 10, 5},
      {1.0, 1, 10, 10 + 10},
      {2.0, 0, 10, 20},
      {0.0, 1, 1000, 10},
  };
  for (const Row& r : rows) {
    CAPTURE(r.ratio);
    CAPTURE(r.requests);
    base::FakeClock clock;
    auto b = RetryBudget::create(RetryBudgetConfig{r.ratio, r.min_per_second, 10s}, clock).value();
    for (int i = 0; i < r.requests; ++i) b.deposit();
    CHECK(withdraw_all(b) == r.want);
  }
}

TEST_CASE("deposits and withdrawals expire after the ttl") {
  base::FakeClock clock;
  auto b = RetryBudget::create(RetryBudgetConfig{0.2, 0, 10s}, clock).value();
  for (int i = 0; i < 50; ++i) b.deposit();
  CHECK(b.available() == 10);
  clock.advance(5s);
  CHECK(b.available() == 10);  // still inside the window
  clock.advance(5s);
  CHECK(b.available() == 0);   // ten slots later, gone
}

TEST_CASE("spent reserve comes back once the retries age out") {
  base::FakeClock clock;
  auto b = RetryBudget::create(RetryBudgetConfig{0.2, 10, 10s}, clock).value();
  CHECK(withdraw_all(b) == 100);
  clock.advance(3s);
  CHECK(b.available() == 0);
  clock.advance(7s);
  CHECK(b.available() == 100);
}

TEST_CASE("a long idle gap clears every slot") {
  base::FakeClock clock;
  auto b = RetryBudget::create(RetryBudgetConfig{1.0, 0, 1s}, clock).value();
  for (int i = 0; i < 7; ++i) b.deposit();
  clock.advance(1h);
  CHECK(b.available() == 0);
  b.deposit();
  CHECK(b.available() == 1);
}

TEST_CASE("create rejects a ttl or ratio outside Linkerd's bounds") {
  base::FakeClock clock;
  CHECK_FALSE(RetryBudget::create(RetryBudgetConfig{0.2, 10, 500ms}, clock).has_value());
  CHECK_FALSE(RetryBudget::create(RetryBudgetConfig{0.2, 10, 61s}, clock).has_value());
  CHECK_FALSE(RetryBudget::create(RetryBudgetConfig{-0.1, 10, 10s}, clock).has_value());
  CHECK_FALSE(RetryBudget::create(RetryBudgetConfig{1001, 10, 10s}, clock).has_value());
}
