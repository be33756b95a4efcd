#include "tunnel/http/path_normalize.hpp"

#include <string>

#include <doctest/doctest.h>

using mesh::tunnel::http::normalize_path;
using mesh::tunnel::http::path_without_query;

TEST_CASE("dot segments are removed as RFC 3986 5.2.4 says") {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"/", "/"},
      {"/a/b", "/a/b"},
      {"/a/./b", "/a/b"},
      {"/a/../b", "/b"},
      {"/public/../admin", "/admin"},
      {"/../../etc/passwd", "/etc/passwd"},
      {"/a/b/..", "/a/"},
      {"/a/b/.", "/a/b/"},
      {"/a/..", "/"},
      {"/..", "/"},
      {"/.", "/"},
      {"/a/.hidden", "/a/.hidden"},
      {"/a/..b/c", "/a/..b/c"},
      {"//double//slash", "//double//slash"},  // slashes are not merged (Istio's BASE)
      {"/a/../b?x=/../y", "/b?x=/../y"},       // the query is not a path
  };
  for (const auto& c : cases) {
    std::string in = c.in;
    CAPTURE(in);
    auto got = normalize_path(c.in);
    REQUIRE(got.has_value());
    CHECK(*got == c.out);
  }
}

TEST_CASE("escaped unreserved characters are decoded, other escapes kept (upper case)") {
  CHECK(*normalize_path("/%61dmin") == "/admin");
  CHECK(*normalize_path("/public/%2e%2e/admin") == "/admin");  // an escaped dot segment is one too
  CHECK(*normalize_path("/a%2Fb") == "/a%2Fb");
  CHECK(*normalize_path("/a%2fb") == "/a%2Fb");
  CHECK(*normalize_path("/a%5cb") == "/a%5Cb");
  CHECK(*normalize_path("/%7Euser") == "/~user");
  CHECK(*normalize_path("/sp%20ace") == "/sp%20ace");
  CHECK(*normalize_path("/q?%61=1") == "/q?%61=1");
}

TEST_CASE("malformed paths are refused") {
  CHECK_FALSE(normalize_path(""));
  CHECK_FALSE(normalize_path("a/b"));
  CHECK_FALSE(normalize_path("*"));
  CHECK_FALSE(normalize_path("/%"));
  CHECK_FALSE(normalize_path("/%4"));
  CHECK_FALSE(normalize_path("/%zz"));
  CHECK_FALSE(normalize_path("/a%g1"));
  CHECK(normalize_path("/ok?%zz"));  // the query is not checked
}

TEST_CASE("path_without_query") {
  CHECK(path_without_query("/a?b=c") == "/a");
  CHECK(path_without_query("/a") == "/a");
  CHECK(path_without_query("?") == "");
}
