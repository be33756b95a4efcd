#include "tunnel/http/h1_request_target.hpp"

#include <doctest/doctest.h>

using namespace mesh::tunnel::http;

namespace {

struct Case {
  const char* method;
  const char* target;
  std::vector<const char*> hosts;
  Version version;
  H1Error error;
  const char* scheme;
  const char* authority;
  const char* path;
};

}  // namespace

// RFC 9112 §3.2 decision table: form of the target x Host present -> head fields or reason.
TEST_CASE("request-target and Host map to scheme, authority and path") {
  const Version v11 = Version::Http11;
  const Version v10 = Version::Http10;
  const Case cases[] = {
      {"GET", "/a?b", {"h.example"}, v11, H1Error::None, "", "h.example", "/a?b"},
      {"GET", "/a", {}, v11, H1Error::MissingHost, "", "", ""},
      {"GET", "/a", {}, v10, H1Error::None, "", "", "/a"},
      {"GET", "/a", {"a", "b"}, v11, H1Error::MultipleHost, "", "", ""},
      {"GET", "/a", {""}, v11, H1Error::InvalidHost, "", "", ""},
      {"GET", "/a", {"a/b"}, v11, H1Error::InvalidHost, "", "", ""},
      {"GET", "/a", {"u@a"}, v11, H1Error::InvalidHost, "", "", ""},
      {"GET", "/a", {"a:99999x"}, v11, H1Error::InvalidHost, "", "", ""},
      {"GET", "/a", {"[::1]:8080"}, v11, H1Error::None, "", "[::1]:8080", "/a"},
      {"GET", "/a", {"10.0.0.1:80"}, v11, H1Error::None, "", "10.0.0.1:80", "/a"},
      {"GET", "http://a.example/x", {}, v11, H1Error::None, "http", "a.example", "/x"},
      {"GET", "HTTPS://a.example:8443", {"A.EXAMPLE:8443"}, v11, H1Error::None, "https", "a.example:8443", "/"},
      {"GET", "http://a.example?q=1", {}, v11, H1Error::None, "http", "a.example", "/?q=1"},
      {"GET", "http://a.example/x", {"b.example"}, v11, H1Error::HostMismatch, "", "", ""},
      {"GET", "http://", {}, v11, H1Error::InvalidTarget, "", "", ""},
      {"GET", "http:///x", {}, v11, H1Error::InvalidTarget, "", "", ""},
      {"GET", "ws://a/x", {}, v11, H1Error::InvalidTarget, "", "", ""},
      {"GET", "a.example/x", {}, v11, H1Error::InvalidTarget, "", "", ""},
      {"CONNECT", "db.example:5432", {}, v11, H1Error::None, "", "db.example:5432", ""},
      {"CONNECT", "db.example:5432", {"db.example:5432"}, v11, H1Error::None, "", "db.example:5432", ""},
      {"CONNECT", "[::1]:443", {}, v11, H1Error::None, "", "[::1]:443", ""},
      {"CONNECT", "db.example", {}, v11, H1Error::InvalidTarget, "", "", ""},
      {"CONNECT", "/x", {"a"}, v11, H1Error::InvalidTarget, "", "", ""},
      {"CONNECT", "a:1", {"b:1"}, v11, H1Error::HostMismatch, "", "", ""},
      {"OPTIONS", "*", {"a"}, v11, H1Error::None, "", "a", "*"},
      {"OPTIONS", "*", {}, v11, H1Error::MissingHost, "", "", ""},
      {"GET", "*", {"a"}, v11, H1Error::InvalidTarget, "", "", ""},
      {"GET", "/a#frag", {"a"}, v11, H1Error::InvalidTarget, "", "", ""},
      {"GET", "http://a/x#frag", {}, v11, H1Error::InvalidTarget, "", "", ""},
  };
  for (const Case& c : cases) {
    std::string what = std::string(c.method) + " " + c.target;
    CAPTURE(what);
    RequestHead head;
    head.method = c.method;
    head.version = c.version;
    for (const char* h : c.hosts) head.headers.add("Host", h);
    head.headers.add("x-other", "1");
    H1Error e = apply_request_target(c.target, head);
    CHECK(to_string(e) == to_string(c.error));
    if (c.error != H1Error::None) continue;
    CHECK(head.scheme == c.scheme);
    CHECK(head.authority == c.authority);
    CHECK(head.path == c.path);
    CHECK_FALSE(head.headers.has("host"));  // the authority carries it
    CHECK(head.headers.has("x-other"));
  }
}

TEST_CASE("valid_authority accepts hosts with ports and refuses userinfo and whitespace") {
  CHECK(valid_authority("a.example"));
  CHECK(valid_authority("a.example:80"));
  CHECK(valid_authority("[2001:db8::1]"));
  CHECK(valid_authority("xn--bcher-kva.example"));
  CHECK_FALSE(valid_authority(""));
  CHECK_FALSE(valid_authority(":80"));
  CHECK_FALSE(valid_authority("a b"));
  CHECK_FALSE(valid_authority("u@a"));
  CHECK_FALSE(valid_authority("a:8x"));
  CHECK_FALSE(valid_authority("[::1"));
  CHECK_FALSE(valid_authority("[::1]x"));
}
