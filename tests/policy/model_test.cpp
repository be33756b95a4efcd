#include "policy/model.hpp"

#include <doctest/doctest.h>

using namespace mesh::policy::model;

TEST_CASE("enumerations print as users write them") {
  CHECK(to_string(Protocol::Unspecified) == "detect");
  CHECK(to_string(Protocol::Grpc) == "grpc");
  CHECK(to_string(AuthzAction::Audit) == "AUDIT");
  CHECK(to_string(MtlsMode::Strict) == "strict");
}

TEST_CASE("only http, http2 and grpc ports are handled as HTTP") {
  CHECK(is_http(Protocol::Http));
  CHECK(is_http(Protocol::Http2));
  CHECK(is_http(Protocol::Grpc));
  CHECK_FALSE(is_http(Protocol::Https));  // TLS passes through the node proxy
  CHECK_FALSE(is_http(Protocol::Unspecified));
}

TEST_CASE("a selector matches labels that include all of its pairs") {
  Labels labels{{"app", "web"}, {"version", "v1"}};
  CHECK(labels_match({{"app", "web"}}, labels));
  CHECK(labels_match({}, labels));
  CHECK_FALSE(labels_match({{"app", "web"}, {"tier", "x"}}, labels));
  CHECK_FALSE(labels_match({{"app", "api"}}, labels));
}
