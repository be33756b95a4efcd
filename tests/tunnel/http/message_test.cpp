#include "tunnel/http/message.hpp"

#include <doctest/doctest.h>

using namespace mesh::tunnel::http;

TEST_CASE("a header map keeps fields in order, stores names in lower case and finds them in any case") {
  HeaderMap h{{"Content-Type", "text/plain"}, {"x-a", "1"}};
  h.add("X-A", "2");
  h.add(Header{"Grpc-Status", "0"});
  REQUIRE(h.size() == 4);
  CHECK(h[0].name == "content-type");
  CHECK(h[2] == Header{"x-a", "2"});
  CHECK(h[3].name == "grpc-status");
  REQUIRE(h.get("CONTENT-TYPE") != nullptr);
  CHECK(*h.get("content-type") == "text/plain");
  CHECK(*h.get("X-a") == "1");  // the first of several
  CHECK(h.get_all("x-A") == std::vector<std::string_view>{"1", "2"});
  CHECK(h.get("missing") == nullptr);
  CHECK(h.get_all("missing").empty());
  CHECK(h.has("Grpc-Status"));
  CHECK_FALSE(h.has("grpc"));
}

TEST_CASE("set replaces every field of a name in the place of the first; remove drops them all") {
  HeaderMap h{{"a", "1"}, {"b", "2"}, {"A", "3"}, {"c", "4"}};
  h.set("A", "9");
  REQUIRE(h.size() == 3);
  CHECK(h[0] == Header{"a", "9"});
  CHECK(h[1].name == "b");
  CHECK(h[2].name == "c");
  h.set("D", "5");  // absent: appended
  CHECK(h[3] == Header{"d", "5"});
  h.add("b", "6");
  CHECK(h.remove("B") == 2);
  CHECK(h.remove("b") == 0);
  CHECK(h.size() == 3);
  h.clear();
  CHECK(h.empty());
}

TEST_CASE("a header map's total size counts names, values and 32 bytes per field") {
  HeaderMap h;
  CHECK(h.total_size() == 0);
  h.add("ab", "cde");
  h.add("f", "");
  CHECK(h.total_size() == (2 + 3 + 32) + (1 + 0 + 32));
}

TEST_CASE("iequals and to_lower compare and fold ASCII case only") {
  CHECK(iequals("Content-Length", "content-LENGTH"));
  CHECK_FALSE(iequals("content-length", "content-lengt"));
  CHECK_FALSE(iequals("a-b", "a_b"));
  CHECK(to_lower("X-Forwarded-For") == "x-forwarded-for");
  CHECK(to_string(Version::Http11) == "HTTP/1.1");
  CHECK(to_string(Version::Http2) == "HTTP/2");
}

TEST_CASE("request and response heads carry pseudo-headers as fields, not map entries") {
  RequestHead r{.method = "GET", .scheme = "https", .authority = "svc.ns:80", .path = "/x"};
  r.headers.add("accept", "*/*");
  CHECK(r.headers.size() == 1);
  CHECK_FALSE(r.headers.has(":path"));
  ResponseHead s{.status = 204};
  CHECK(s.version == Version::Http2);
  CHECK(s.headers.empty());
}
