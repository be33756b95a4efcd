#include "daemon/upstream/lb_config.hpp"

#include <doctest/doctest.h>

using namespace mesh::upstream;

TEST_CASE("the default config is valid and carries Envoy's and Linkerd's defaults") {
  LbConfig c;
  CHECK(validate(c).has_value());
  CHECK(c.kind == LbKind::LeastRequest);
  CHECK(c.choice_count == 2);
  CHECK(c.ring_hash.minimum_ring_size == 1024);
  CHECK(c.maglev.table_size == 65537);
  CHECK(c.peak_ewma.decay == std::chrono::seconds(10));
  CHECK(c.peak_ewma.default_rtt == std::chrono::milliseconds(30));
  CHECK(c.panic_threshold_percent == 50);
}

TEST_CASE("validate rejects values the balancers cannot use") {
  struct Row {
    const char* what;
    void (*edit)(LbConfig&);
  };
  const Row rows[] = {
      {"zero choices", [](LbConfig& c) { c.choice_count = 0; }},
      {"threshold above 100", [](LbConfig& c) { c.panic_threshold_percent = 101; }},
      {"maglev table not prime", [](LbConfig& c) { c.maglev.table_size = 65536; }},
      {"maglev table of 1", [](LbConfig& c) { c.maglev.table_size = 1; }},
      {"ring min above max", [](LbConfig& c) { c.ring_hash.minimum_ring_size = c.ring_hash.maximum_ring_size + 1; }},
      {"ring min zero", [](LbConfig& c) { c.ring_hash.minimum_ring_size = 0; }},
      {"zero decay", [](LbConfig& c) { c.peak_ewma.decay = {}; }},
      {"negative penalty", [](LbConfig& c) { c.peak_ewma.failure_penalty = -std::chrono::seconds(1); }},
  };
  for (const Row& r : rows) {
    CAPTURE(r.what);
    LbConfig c;
    r.edit(c);
    auto st = validate(c);
    REQUIRE_FALSE(st.has_value());
    CHECK(st.error().code() == mesh::base::Errc::Invalid);
  }
  LbConfig prime;
  prime.maglev.table_size = 251;
  CHECK(validate(prime).has_value());
}
