// Decoding of [[route]]: rules, matches, destinations, retries, faults and the rest.
#include "tests/policy/support.hpp"

using mesh::policy::test::decode;
using mesh::policy::test::decode_errors;
namespace model = mesh::policy::model;

namespace {
const std::string kHead = "[[route]]\nname = \"r\"\nhosts = [\"a\"]\n[[route.http]]\n";
}

TEST_CASE("an http rule's matches, destinations and actions are decoded") {
  auto r = decode(kHead +
                  "name = \"v2\"\n"
                  "match = [{ path = { prefix = \"/api\" }, method = { exact = \"GET\" }, headers = { \"X-User\" = { regex = \"a.*\" } },"
                  " query = { debug = { exact = \"1\" } }, without_headers = { cookie = { present = true } }, port = 80,"
                  " source_labels = { app = \"web\" }, source_namespace = \"web\", ignore_uri_case = true }]\n"
                  "to = [{ host = \"a\", subset = \"v2\", port = 80, weight = 100 }]\n"
                  "timeout = \"3s\"\n"
                  "rewrite = { path = \"/v2\" }\n"
                  "mirror = { host = \"b\", percentage = 5 }\n"
                  "request_headers = { set = { x-a = \"1\" }, remove = [\"x-b\"] }\n");
  REQUIRE(r.ok());
  const model::HttpRule& rule = r.set.routes.at(0).http.at(0);
  CHECK(rule.name == "v2");
  const model::HttpMatch& m = rule.match.at(0);
  CHECK(m.path->kind == model::StringMatch::Kind::Prefix);
  CHECK(m.headers.at(0).name == "x-user");
  CHECK(m.headers.at(0).match.kind == model::StringMatch::Kind::Regex);
  CHECK(m.without_headers.at(0).match.kind == model::StringMatch::Kind::Present);
  CHECK(m.query.at(0).name == "debug");
  CHECK(m.ignore_uri_case);
  CHECK(rule.to.at(0).subset.value == "v2");
  CHECK(rule.to.at(0).weight == 100u);
  CHECK(rule.timeout == std::chrono::seconds(3));
  CHECK(rule.rewrite->path == "/v2");
  CHECK(rule.mirror->percentage == 5);
  CHECK(rule.request_headers.set.at("x-a") == "1");
}

TEST_CASE("a string match takes exactly one of exact, prefix, regex, present") {
  CHECK(decode_errors(kHead + "match = [{ path = { exact = \"/a\", prefix = \"/b\" } }]\nto = [{ host = \"a\" }]\n") ==
        "test.toml:5:19: route.http.match.path: give exactly one of exact, prefix, regex, present\n");
  CHECK(decode_errors(kHead + "match = [{ query = { q = { prefix = \"x\" } } }]\nto = [{ host = \"a\" }]\n") ==
        "test.toml:5:37: route.http.match.query.q.prefix: query parameters match exact or regex only (as in Istio)\n");
}

TEST_CASE("pseudo-headers are matched by their own fields, not as headers") {
  CHECK(decode_errors(kHead + "match = [{ headers = { \":path\" = { exact = \"/\" } } }]\nto = [{ host = \"a\" }]\n") ==
        "test.toml:5:24: route.http.match.headers: ':path' is not a valid header name (use path, method, authority or "
        "scheme)\n");
}

TEST_CASE("retry_on takes Istio's comma-separated string or an array, and names unknown conditions") {
  auto r = decode(kHead + "to = [{ host = \"a\" }]\nretries = { attempts = 3, per_try_timeout = \"2s\", retry_on = \"5xx, connect-failure,503\" }\n");
  REQUIRE(r.ok());
  const auto& retries = *r.set.routes[0].http[0].retries;
  CHECK(retries.attempts == 3);
  REQUIRE(retries.retry_on.size() == 3);
  CHECK(retries.retry_on[1].value == "connect-failure");
  CHECK(retries.retry_on[2].value == "503");
  CHECK(decode(kHead + "to = [{ host = \"a\" }]\nretries = { attempts = 1, retry_on = [\"reset\"] }\n").ok());
  CHECK(decode_errors(kHead + "to = [{ host = \"a\" }]\nretries = { attempts = 1, retry_on = \"5xx,conect-failure\" }\n") ==
        "test.toml:6:38: route.http.retries.retry_on: unknown retry condition 'conect-failure'; did you mean "
        "'connect-failure'?\n");
}

TEST_CASE("fault delays and aborts are bounded") {
  auto r = decode(kHead + "to = [{ host = \"a\" }]\nfault = { delay = { fixed_delay = \"5s\", percentage = 10 }, abort = { http_status = 503 } }\n");
  REQUIRE(r.ok());
  CHECK(r.set.routes[0].http[0].fault->delay->percentage == 10);
  CHECK(r.set.routes[0].http[0].fault->abort->percentage == 100);
  CHECK(decode_errors(kHead + "to = [{ host = \"a\" }]\nfault = { abort = { http_status = 700 } }\n") ==
        "test.toml:6:35: route.http.fault.abort.http_status: 700 is out of range [200, 599]\n");
  CHECK(decode_errors(kHead + "to = [{ host = \"a\" }]\nfault = { delay = { fixed_delay = \"1s\", percentage = 150 } }\n") ==
        "test.toml:6:54: route.http.fault.delay.percentage: 150 is out of range [0, 100]\n");
  CHECK(decode_errors(kHead + "to = [{ host = \"a\" }]\nfault = {}\n") == "test.toml:6:9: route.http.fault: needs delay or abort\n");
}

TEST_CASE("a rule has destinations or a redirect, not both and not neither") {
  CHECK(decode_errors(kHead + "name = \"x\"\n") ==
        "test.toml:4:1: route.http: a rule needs destinations (to = [...]) or a redirect\n");
  CHECK(decode_errors(kHead + "to = [{ host = \"a\" }]\nredirect = { path = \"/b\" }\n") ==
        "test.toml:6:12: route.http: a rule has either destinations or a redirect, not both\n");
  CHECK(decode_errors(kHead + "redirect = { code = 304 }\n") ==
        "test.toml:5:21: route.http.redirect.code: a redirect code is one of 301, 302, 303, 307, 308\n");
}

TEST_CASE("tcp rules match on port, subnets and source") {
  auto r = decode("[[route]]\nname = \"r\"\nhosts = [\"db\"]\n[[route.tcp]]\n"
                  "match = [{ port = 5432, destination_subnets = [\"198.18.0.0/15\"] }]\nto = [{ host = \"db\", port = 5432 }]\n");
  REQUIRE(r.ok());
  CHECK(r.set.routes[0].tcp[0].match[0].destination_subnets.size() == 1);
  CHECK(decode_errors("[[route]]\nname = \"r\"\nhosts = [\"db\"]\n") ==
        "test.toml:1:1: route: a route needs at least one [[route.http]] or [[route.tcp]] rule\n");
}

TEST_CASE("a retry budget's ttl is between 1s and 60s, as Linkerd requires") {
  CHECK(decode(kHead.substr(0, kHead.size() - 15) + "retry_budget = { ratio = 0.2, min_per_second = 10, ttl = \"10s\" }\n"
                                                     "[[route.http]]\nto = [{ host = \"a\" }]\n").ok());
  CHECK(decode_errors("[[route]]\nname = \"r\"\nhosts = [\"a\"]\nretry_budget = { ttl = \"2m\" }\n[[route.http]]\nto = [{ host = \"a\" }]\n") ==
        "test.toml:4:24: route.retry_budget.ttl: must be between 1s and 60s (Linkerd's bounds)\n");
}

TEST_CASE("rules beyond max_rules_per_resource are refused") {
  mesh::policy::Limits limits;
  limits.max_rules_per_resource = 2;
  std::string text = "[[route]]\nname = \"r\"\nhosts = [\"a\"]\n";
  for (int i = 0; i < 3; ++i) text += "[[route.http]]\nto = [{ host = \"a\" }]\n";
  CHECK(decode_errors(text, limits) == "test.toml:4:1: route.http: 3 entries exceed the limit max_rules_per_resource = 2\n");
}
