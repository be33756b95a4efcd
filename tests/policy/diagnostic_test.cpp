#include "policy/diagnostic.hpp"

#include <doctest/doctest.h>

using namespace mesh::policy;

TEST_CASE("a diagnostic prints as file:line:col: message") {
  CHECK(Diagnostic{"a.toml", 3, 7, "bad"}.to_string() == "a.toml:3:7: bad");
}

TEST_CASE("a location names its file through the file table, and unknown positions print as 1") {
  std::vector<std::string> files{"a.toml", "b.toml"};
  Diagnostics d(files, 10);
  d.error(SourceLoc{1, 4, 2}, "x");
  d.error(SourceLoc{0, 0, 0}, "y");
  d.error(SourceLoc{9, 1, 1}, "z");
  REQUIRE(d.size() == 3);
  CHECK(d.items()[0].to_string() == "b.toml:4:2: x");
  CHECK(d.items()[1].to_string() == "a.toml:1:1: y");
  CHECK(d.items()[2].to_string() == "<policy>:1:1: z");
}

TEST_CASE("errors past max_errors are dropped after one final line") {
  std::vector<std::string> files{"a.toml"};
  Diagnostics d(files, 2);
  for (int i = 0; i < 5; ++i) d.error(SourceLoc{0, static_cast<uint32_t>(i + 1), 1}, "e");
  CHECK(d.full());
  REQUIRE(d.size() == 3);
  CHECK(d.items()[2].message == "too many errors (limit max_errors = 2); stopping");
  CHECK(d.take().size() == 3);
}
