#include "daemon/io/probe.hpp"

#include <doctest/doctest.h>

TEST_CASE("the io_uring probe accepts this machine's kernel") {
  auto report = mesh::io::probe_io_uring();
  REQUIRE_MESSAGE(report, (report ? "" : report.error().message()));
  CHECK_FALSE(report->kernel.empty());
}
