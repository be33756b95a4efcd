#include "daemon/base/clock.hpp"

#include <doctest/doctest.h>

using namespace mesh::base;
using namespace std::chrono_literals;

TEST_CASE("a fake clock moves only when advanced, monotonic and wall together") {
  FakeClock clock;
  auto m0 = clock.now();
  auto w0 = clock.wall();
  CHECK(clock.now() == m0);
  clock.advance(1500ms);
  CHECK(clock.now() - m0 == 1500ms);
  CHECK(clock.wall() - w0 == 1500ms);
}

TEST_CASE("the system clock's monotonic time never goes backwards") {
  auto& clock = SystemClock::instance();
  auto a = clock.now();
  auto b = clock.now();
  CHECK(b >= a);
}
