#include "daemon/base/result.hpp"

#include <cerrno>

#include <doctest/doctest.h>

using namespace mesh::base;

namespace {
Result<int> parse_positive(int v) {
  if (v <= 0) return fail(Errc::Invalid, "value must be positive");
  return v;
}
}  // namespace

TEST_CASE("a failed result carries its code and context") {
  auto r = parse_positive(-1);
  REQUIRE_FALSE(r);
  CHECK(r.error().code() == Errc::Invalid);
  CHECK(r.error().message() == "value must be positive");
}

TEST_CASE("wrap adds context as an error travels up") {
  Error e = Error::from_errno(EPERM, "open map");
  e.wrap("start datapath");
  CHECK(e.context() == "start datapath: open map");
  CHECK(e.message() == "start datapath: open map: Operation not permitted");
  CHECK(e.sys_errno() == EPERM);
}

TEST_CASE("a successful result holds its value and composes") {
  auto r = parse_positive(3).and_then([](int v) -> Result<int> { return v * 2; });
  REQUIRE(r);
  CHECK(*r == 6);
  Status s = ok();
  CHECK(s.has_value());
}
