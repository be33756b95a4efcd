#include "daemon/config/toml_reader.hpp"

#include <doctest/doctest.h>

using namespace mesh;

namespace {
toml::table parse(std::string_view text) { return toml::parse(text, std::string_view("t.toml")); }
}  // namespace

TEST_CASE("a value of the wrong type is reported and the default kept") {
  auto doc = parse("port = \"eighty\"\nflag = 3\n");
  config::Diagnostics out;
  config::TomlReader r(doc, "t.toml", out);
  int port = 80;
  bool flag = false;
  r.integer("port", port, 1, 65535);
  r.boolean("flag", flag);
  r.finish();
  CHECK(port == 80);
  CHECK_FALSE(flag);
  REQUIRE(out.size() == 2);
  CHECK(out[0].to_string() == "t.toml:1:8: 'port' must be an integer");
  CHECK(out[1].to_string() == "t.toml:2:8: 'flag' must be true or false");
}

TEST_CASE("an integer out of range names the bounds") {
  auto doc = parse("n = 70000\n");
  config::Diagnostics out;
  config::TomlReader r(doc, "t.toml", out);
  int n = 1;
  r.integer("n", n, 1, 65535);
  REQUIRE(out.size() == 1);
  CHECK(out[0].message == "'n' must be between 1 and 65535 (got 70000)");
}

TEST_CASE("sizes accept integers and unit strings") {
  auto doc = parse("a = 4096\nb = \"1MiB\"\nc = \"2TiB\"\n");
  config::Diagnostics out;
  config::TomlReader r(doc, "t.toml", out);
  uint32_t a = 0, b = 0, c = 0;
  r.size("a", a, 1, 1 << 30);
  r.size("b", b, 1, 1 << 30);
  r.size("c", c, 1, 1 << 30);
  CHECK(a == 4096);
  CHECK(b == 1048576);
  CHECK(c == 0);
  CHECK(out.size() == 1);
}

TEST_CASE("an unrelated unknown key gets no suggestion") {
  auto doc = parse("zebra = 1\n");
  config::Diagnostics out;
  config::TomlReader r(doc, "t.toml", out);
  int workers = 0;
  r.integer("workers", workers, 0, 10);
  r.finish();
  REQUIRE(out.size() == 1);
  CHECK(out[0].message == "unknown key 'zebra'");
}
