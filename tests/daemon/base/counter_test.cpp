#include "daemon/base/counter.hpp"

#include <thread>

#include <doctest/doctest.h>

using namespace mesh::base;

TEST_CASE("a counter written by one thread is readable from another") {
  Counter c;
  Gauge g;
  std::thread writer([&] {
    for (int i = 0; i < 1000; ++i) {
      c.inc();
      g.add(i % 2 == 0 ? 1 : -1);
    }
    c.inc(10);
  });
  writer.join();
  CHECK(c.value() == 1010);
  CHECK(g.value() == 0);
}
