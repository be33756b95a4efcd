#include "policy/toml/prescan.hpp"

#include <string>

#include <doctest/doctest.h>

using mesh::policy::toml_codec::prescan;

TEST_CASE("a dotted key deeper than the limit is reported at the dot that crosses it") {
  auto e = prescan("ok = 1\na.b.c.d = 1\n", 3);
  REQUIRE(e);
  CHECK(e->line == 2);
  CHECK(e->column == 6);
  CHECK(e->message.find("nesting depth 4 exceeds the limit max_depth = 3") != std::string::npos);
  CHECK_FALSE(prescan("a.b.c = 1\n", 3));
}

TEST_CASE("table headers set the depth of the keys below them and arrays of tables add one") {
  CHECK_FALSE(prescan("[a.b]\nc = 1\n", 3));
  CHECK(prescan("[a.b]\nc.d = 1\n", 3));
  CHECK_FALSE(prescan("[[a]]\nb = 1\n", 3));
  CHECK(prescan("[[a.b]]\nc = 1\n", 3));
  CHECK(prescan("[a.b.c.d]\n", 3));
}

TEST_CASE("dots in strings, comments, quoted keys and numbers do not nest") {
  CHECK_FALSE(prescan("x = \"a.b.c.d.e.f\"\n", 2));
  CHECK_FALSE(prescan("x = 'a.b.c.d.e.f'\n", 2));
  CHECK_FALSE(prescan("# a.b.c.d.e.f = 1\nx = 1\n", 2));
  CHECK_FALSE(prescan("\"a.b.c.d\" = 1\n", 2));
  CHECK_FALSE(prescan("x = [1.5, 2.5, 3.5, 4.5, 5.5]\n", 2));
  CHECK_FALSE(prescan("x = 1979-05-27T07:32:00.999\n", 2));
}

TEST_CASE("arrays and inline tables nest, and dotted keys inside them add up") {
  CHECK_FALSE(prescan("a = { b = 1 }\n", 2));
  CHECK(prescan("a = { b = { c = 1 } }\n", 2));
  CHECK(prescan("a = { b.c.d = 1 }\n", 3));
  CHECK(prescan("a = [[[[1]]]]\n", 3));
  CHECK_FALSE(prescan("a = [[[1]]]\n", 3));
  CHECK_FALSE(prescan("a = [[1], [2], [3]]\n", 3));
  CHECK_FALSE(prescan("a = [\n  { b = 1 },\n  { c = 2 },\n]\nd.e = 1\n", 3));
}

TEST_CASE("multi-line strings with embedded quotes and dots do not confuse the scan") {
  const char* doc = "x = \"\"\"a \"quoted\" a.b.c.d.e\n\"\"\"\"\ny = '''it's.a.b.c.d'''\nz.w = 1\n";
  CHECK_FALSE(prescan(doc, 2));
  CHECK(prescan(std::string(doc) + "p.q.r = 1\n", 2));
}

TEST_CASE("a key nested a hundred thousand levels is rejected without recursion") {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "a.";
  deep += "a = 1\n";
  auto e = prescan(deep, 32);
  REQUIRE(e);
  CHECK(e->line == 1);
}

TEST_CASE("non-ASCII characters are refused outside strings and comments") {
  auto e = prescan("x = 1\ny = \xd2\x95\n", 32);
  REQUIRE(e);
  CHECK(e->line == 2);
  CHECK(e->column == 5);
  CHECK(e->message == "non-ASCII character outside a string or comment");
  CHECK_FALSE(prescan("x = \"gr\xc3\xbc\xc3\x9f\" # caf\xc3\xa9\ny = '\xd2\x95'\nz = \"\"\"\xd2\x95\"\"\"\n", 32));
}

TEST_CASE("a backslash before a non-ASCII character in a multi-line string is refused") {
  // toml++ 3.3 tests such characters for whitespace, which is undefined behaviour for many.
  auto e = prescan("x = \"\"\"a\\\xd2\x95\"\"\"\n", 32);
  REQUIRE(e);
  CHECK(e->message == "a backslash in a string must start an escape sequence, and a non-ASCII character cannot follow it");
  CHECK(prescan("x = \"\"\"a\\\n   \xd2\x95\"\"\"\n", 32));
  CHECK_FALSE(prescan("x = \"\"\"a\\\n   b\xd2\x95\"\"\"\n", 32));
  CHECK_FALSE(prescan("x = '''a\\\xd2\x95'''\n", 32));  // literal strings have no escapes
}

TEST_CASE("a bare value is read up to its terminator, quotes included, and must be ASCII") {
  // Found by fuzzing: toml++ reads `555'''{z'{555<U+02D1>` as one (bad) number.
  auto e = prescan("name =555'''{z'{555\xcb\x91zes\n", 32);
  REQUIRE(e);
  CHECK(e->column == 20);
  CHECK_FALSE(prescan("a = [1, 2.5, true, 1979-05-27 07:32:00Z, inf]\nb = { c = 1 }\n", 32));
  CHECK(prescan("a = [1, 2'\xc3\xa9']\n", 32));
}
