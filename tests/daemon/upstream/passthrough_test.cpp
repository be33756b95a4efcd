#include "daemon/upstream/passthrough.hpp"

#include <doctest/doctest.h>

#include "tests/daemon/upstream/fleet.hpp"

using namespace mesh;
using namespace mesh::upstream;

TEST_CASE("passthrough finds the member at the original destination, and only that one") {
  test::Fleet f;
  f.add("10.0.0.1:80");
  Endpoint& b = f.add("10.0.0.2:80");
  f.add("10.0.0.3:80");
  Passthrough lb;
  lb.rebuild(f.all());
  base::SplitMix64 random(1);
  struct Row {
    std::optional<std::string> original;
    Endpoint* want;
  };
  const Row rows[] = {
      {"10.0.0.2:80", &b},
      {"10.0.0.2:81", nullptr},  // same host, other port
      {"10.9.9.9:80", nullptr},
      {std::nullopt, nullptr},
  };
  for (const Row& r : rows) {
    CAPTURE(r.original.value_or("(none)"));
    PickContext ctx{random};
    if (r.original) ctx.original_destination = test::addr(*r.original);
    CHECK(lb.pick(ctx) == r.want);
  }
}
