#include "daemon/base/scope_exit.hpp"

#include <doctest/doctest.h>

using mesh::base::ScopeExit;

TEST_CASE("a scope guard runs when its scope ends") {
  int runs = 0;
  { ScopeExit count_guard([&] { ++runs; }); }
  CHECK(runs == 1);
}

TEST_CASE("a released scope guard does not run") {
  int runs = 0;
  {
    ScopeExit count_guard([&] { ++runs; });
    count_guard.release();
  }
  CHECK(runs == 0);
}
