#include "daemon/base/strings.hpp"

#include <array>

#include <doctest/doctest.h>

using namespace mesh::base;
using namespace std::chrono_literals;

TEST_CASE("durations parse in Istio's notation") {
  CHECK(parse_duration("250ms").value() == 250ms);
  CHECK(parse_duration("2s").value() == 2s);
  CHECK(parse_duration("1h30m").value() == 90min);
  CHECK(parse_duration("1.5s").value() == 1500ms);
  CHECK(parse_duration("0").value() == 0s);
  CHECK(parse_duration("10us").value() == 10us);
}

TEST_CASE("malformed durations are rejected") {
  for (const char* text : {"", "5", "s", "2x", "-1s", "1..5s", "2s3", "9999999999999h"}) {
    CHECK_MESSAGE(!parse_duration(text), text);
  }
}

TEST_CASE("durations format to their shortest exact spelling") {
  CHECK(format_duration(250ms) == "250ms");
  CHECK(format_duration(90min) == "1h30m");
  CHECK(format_duration(5s) == "5s");
  CHECK(format_duration(0s) == "0s");
  CHECK(format_duration(1500us) == "1500us");
}

TEST_CASE("sizes parse with binary and decimal units") {
  CHECK(parse_size("65536").value() == 65536);
  CHECK(parse_size("64KiB").value() == 65536);
  CHECK(parse_size("1MiB").value() == 1048576);
  CHECK(parse_size("1MB").value() == 1000000);
  CHECK_FALSE(parse_size("1.5B"));
  CHECK_FALSE(parse_size("12 parsecs"));
}

TEST_CASE("closest_match suggests a likely typo and nothing for unrelated words") {
  std::array<std::string_view, 4> keys{"workers", "listen", "upstream", "idle_timeout"};
  CHECK(closest_match("worker", keys) == "workers");
  CHECK(closest_match("upstrem", keys) == "upstream");
  CHECK(closest_match("idle_timout", keys) == "idle_timeout");
  CHECK_FALSE(closest_match("banana", keys));
}
