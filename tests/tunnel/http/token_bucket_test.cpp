#include "tunnel/http/token_bucket.hpp"

#include <doctest/doctest.h>

using namespace std::chrono_literals;
using mesh::tunnel::http::TokenBucket;

TEST_CASE("a token bucket allows its burst, then refills at its rate up to the burst") {
  mesh::base::FakeClock clock;
  TokenBucket b({3, 2}, clock.now());
  CHECK(b.take(clock.now()));
  CHECK(b.take(clock.now()));
  CHECK(b.take(clock.now()));
  CHECK_FALSE(b.take(clock.now()));
  clock.advance(500ms);  // one token back
  CHECK(b.take(clock.now()));
  CHECK_FALSE(b.take(clock.now()));
  clock.advance(1h);  // capped at the burst
  for (int i = 0; i < 3; ++i) CHECK(b.take(clock.now()));
  CHECK_FALSE(b.take(clock.now()));
}
