#include "policy/names.hpp"

#include <string>

#include <doctest/doctest.h>

using namespace mesh::policy;

TEST_CASE("DNS labels and subdomains follow RFC 1123 as Kubernetes checks them") {
  CHECK(is_dns_label("reviews-v1"));
  CHECK(is_dns_label("a"));
  CHECK_FALSE(is_dns_label(""));
  CHECK_FALSE(is_dns_label("-a"));
  CHECK_FALSE(is_dns_label("a-"));
  CHECK_FALSE(is_dns_label("A"));
  CHECK_FALSE(is_dns_label(std::string(64, 'a')));
  CHECK(is_dns_subdomain("reviews.default.svc.cluster.local"));
  CHECK_FALSE(is_dns_subdomain("a..b"));
  CHECK_FALSE(is_dns_subdomain("a."));
  CHECK_FALSE(is_dns_subdomain(std::string(254, 'a')));
}

TEST_CASE("host patterns allow a leading wildcard label only when asked") {
  CHECK(is_host_pattern("*.example.com", true));
  CHECK(is_host_pattern("*", true));
  CHECK_FALSE(is_host_pattern("*.example.com", false));
  CHECK_FALSE(is_host_pattern("a.*.com", true));
  CHECK_FALSE(is_host_pattern("*example.com", true));
}

TEST_CASE("a wildcard host matches names with at least one more label") {
  CHECK(host_matches("*.example.com", "a.example.com"));
  CHECK(host_matches("*.example.com", "a.b.example.com"));
  CHECK_FALSE(host_matches("*.example.com", "example.com"));
  CHECK(host_matches("*", "anything"));
  CHECK(host_matches("a.com", "a.com"));
  CHECK_FALSE(host_matches("a.com", "b.a.com"));
}

TEST_CASE("iequals compares ASCII without case") {
  CHECK(iequals("Content-Type", "content-type"));
  CHECK_FALSE(iequals("a", "ab"));
  CHECK_FALSE(iequals("a", "b"));
}
