#include "policy/toml/depth_scan.hpp"

#include <string>

#include <doctest/doctest.h>

using mesh::policy::toml_codec::check_depth;

TEST_CASE("a dotted key deeper than the limit is reported at the dot that crosses it") {
  auto e = check_depth("ok = 1\na.b.c.d = 1\n", 3);
  REQUIRE(e);
  CHECK(e->line == 2);
  CHECK(e->column == 6);
  CHECK(e->message.find("nesting depth 4 exceeds the limit max_depth = 3") != std::string::npos);
  CHECK_FALSE(check_depth("a.b.c = 1\n", 3));
}

TEST_CASE("table headers set the depth of the keys below them and arrays of tables add one") {
  CHECK_FALSE(check_depth("[a.b]\nc = 1\n", 3));
  CHECK(check_depth("[a.b]\nc.d = 1\n", 3));
  CHECK_FALSE(check_depth("[[a]]\nb = 1\n", 3));
  CHECK(check_depth("[[a.b]]\nc = 1\n", 3));
  CHECK(check_depth("[a.b.c.d]\n", 3));
}

TEST_CASE("dots in strings, comments, quoted keys and numbers do not nest") {
  CHECK_FALSE(check_depth("x = \"a.b.c.d.e.f\"\n", 2));
  CHECK_FALSE(check_depth("x = 'a.b.c.d.e.f'\n", 2));
  CHECK_FALSE(check_depth("# a.b.c.d.e.f = 1\nx = 1\n", 2));
  CHECK_FALSE(check_depth("\"a.b.c.d\" = 1\n", 2));
  CHECK_FALSE(check_depth("x = [1.5, 2.5, 3.5, 4.5, 5.5]\n", 2));
  CHECK_FALSE(check_depth("x = 1979-05-27T07:32:00.999\n", 2));
}

TEST_CASE("arrays and inline tables nest, and dotted keys inside them add up") {
  CHECK_FALSE(check_depth("a = { b = 1 }\n", 2));
  CHECK(check_depth("a = { b = { c = 1 } }\n", 2));
  CHECK(check_depth("a = { b.c.d = 1 }\n", 3));
  CHECK(check_depth("a = [[[[1]]]]\n", 3));
  CHECK_FALSE(check_depth("a = [[[1]]]\n", 3));
  CHECK_FALSE(check_depth("a = [[1], [2], [3]]\n", 3));
  CHECK_FALSE(check_depth("a = [\n  { b = 1 },\n  { c = 2 },\n]\nd.e = 1\n", 3));
}

TEST_CASE("multi-line strings with embedded quotes and dots do not confuse the scan") {
  const char* doc = "x = \"\"\"a \"quoted\" a.b.c.d.e\n\"\"\"\"\ny = '''it's.a.b.c.d'''\nz.w = 1\n";
  CHECK_FALSE(check_depth(doc, 2));
  CHECK(check_depth(std::string(doc) + "p.q.r = 1\n", 2));
}

TEST_CASE("a key nested a hundred thousand levels is rejected without recursion") {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "a.";
  deep += "a = 1\n";
  auto e = check_depth(deep, 32);
  REQUIRE(e);
  CHECK(e->line == 1);
}
