#include "daemon/telemetry/registry.hpp"

#include <doctest/doctest.h>

using namespace mesh::telemetry;

TEST_CASE("a scrape runs every collector in registration order") {
  Registry r;
  int value = 1;
  r.add([&](Exposition& e) {
    e.family("a", "A.", MetricType::Gauge);
    e.sample({}, value);
  });
  r.add([](Exposition& e) {
    e.family("b_total", "B.", MetricType::Counter);
    e.sample({}, 2);
  });
  CHECK(r.scrape() == "# HELP a A.\n# TYPE a gauge\na 1\n# HELP b_total B.\n# TYPE b_total counter\nb_total 2\n");
  value = 5;
  CHECK(r.scrape().find("a 5\n") != std::string::npos);
}
