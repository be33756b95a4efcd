// Compiled route actions: every kind compiled from TOML, and the pure functions that apply
// them (Envoy's prefix_rewrite and redirect semantics, header operation order, fractions).
#include <string>
#include <utility>
#include <vector>

#include "policy/engine.hpp"
#include "policy/route_actions.hpp"
#include "tests/policy/support.hpp"

using namespace mesh::policy;
using test::compile_errors;
using test::must_compile;

namespace {

const std::string kInventory = R"(
[[service]]
name = "reviews"
ports = [{ port = 9080, protocol = "http" }]
[[service]]
name = "shadow"
ports = [{ port = 9080, protocol = "http" }]
[[destination]]
name = "shadow"
host = "shadow"
subsets = [{ name = "v2", labels = { v = "2" } }]
)";
constexpr std::string_view kReviews = "reviews.default.svc.cluster.local";

// One route for reviews with the given rule body.
std::string route(const std::string& rule) {
  return kInventory + "[[route]]\nname = \"r\"\nhosts = [\"reviews\"]\n[[route.http]]\n" + rule + "\n";
}

const RouteActions& only_rule_actions(const CompiledPolicy& p) { return p.routes().for_host(kReviews)->http[0].actions; }

// A header map as the data path might keep one: ordered (name, value) entries.
struct Headers {
  std::vector<std::pair<std::string, std::string>> list;
  void remove(std::string_view name) { std::erase_if(list, [&](const auto& h) { return h.first == name; }); }
  void set(std::string_view name, std::string_view value) {
    remove(name);
    add(name, value);
  }
  void add(std::string_view name, std::string_view value) { list.emplace_back(name, value); }
};
static_assert(MutableHeaders<Headers>);

}  // namespace

TEST_CASE("every kind of route action is compiled from TOML into plain values") {
  auto p = must_compile(route(R"(to = [{ host = "reviews" }]
timeout = "3s"
retries = { attempts = 4, per_try_timeout = "250ms", retry_on = "5xx,reset,409" }
rewrite = { path = "/v2/", authority = "reviews.internal" }
mirror = { host = "shadow", subset = "v2", port = 9080, percentage = 12.5 }
request_headers = { set = { X-Env = "prod" }, add = { x-trace = "on" }, remove = ["X-Debug", "cookie"] }
response_headers = { set = { server = "meshd" } })"));
  const HttpRule& rule = p->routes().for_host(kReviews)->http[0];
  const RouteActions& a = rule.actions;
  CHECK(a.timeout == std::chrono::seconds(3));
  CHECK(a.retries.attempts == 4);
  CHECK(a.retries.per_try_timeout == std::chrono::milliseconds(250));
  CHECK(a.retries.on == (kRetry5xx | kRetryReset | kRetryRetriableStatusCodes));
  CHECK(a.retries.status_codes == std::vector<uint16_t>{409});
  CHECK(retry_on_names(a.retries.on) == std::vector<std::string_view>{"5xx", "reset", "retriable-status-codes"});
  CHECK(a.path_rewrite.kind == PathRewrite::Kind::Prefix);
  CHECK(a.path_rewrite.value == "/v2/");
  CHECK(a.authority_rewrite == "reviews.internal");
  CHECK_FALSE(a.redirect);
  CHECK_FALSE(a.fault);
  // Names are lowercased; values are used as written.
  CHECK(a.request_headers.remove == std::vector<std::string>{"x-debug", "cookie"});
  REQUIRE(a.request_headers.set.size() == 1);
  CHECK(a.request_headers.set[0].name == "x-env");
  CHECK(a.request_headers.set[0].value == "prod");
  REQUIRE(a.request_headers.add.size() == 1);
  CHECK(a.request_headers.add[0].name == "x-trace");
  CHECK(a.response_headers.set.size() == 1);
  CHECK(a.response_headers.remove.empty());
  REQUIRE(rule.mirror);
  CHECK(rule.mirror->target.host == "shadow.default.svc.cluster.local");
  CHECK(rule.mirror->target.subset->name == "v2");
  CHECK(rule.mirror->target.cluster == "outbound|9080|v2|shadow.default.svc.cluster.local");
  CHECK(rule.mirror->fraction.per_million == 125000);
}

TEST_CASE("faults, redirects and mirrors get Istio's defaults when fields are left out") {
  auto fault = must_compile(route("to = [{ host = \"reviews\" }]\n"
                                  "fault = { delay = { fixed_delay = \"5s\", percentage = 0.1 }, abort = { http_status = 503 } }"));
  const RouteActions& f = only_rule_actions(*fault);
  REQUIRE(f.fault);
  CHECK(f.fault->delay->delay == std::chrono::seconds(5));
  CHECK(f.fault->delay->fraction.per_million == 1000);  // 0.1 % = 1 in 1000
  CHECK(f.fault->abort->http_status == 503);
  CHECK(f.fault->abort->fraction.always());  // no percentage: every request
  CHECK(f.retries.attempts == 0);            // a rule that injects faults does not retry
  auto redirect = must_compile(route("redirect = { scheme = \"HTTPS\", authority = \"new.example.com\", port = 8443, path = \"/n\" }"));
  const RouteActions& r = only_rule_actions(*redirect);
  REQUIRE(r.redirect);
  CHECK(r.redirect->code == 301);
  CHECK(r.redirect->scheme == "https");
  CHECK(r.redirect->host == "new.example.com");
  CHECK(r.redirect->port == 8443);
  CHECK(r.redirect->path == "/n");
  auto mirror = must_compile(route("to = [{ host = \"reviews\" }]\nmirror = { host = \"shadow\" }"));
  const HttpRule& m = mirror->routes().for_host(kReviews)->http[0];
  CHECK(m.mirror->fraction.always());
  CHECK(m.mirror->target.cluster.empty());  // no port: the dialled one
  CHECK(cluster_key(m.mirror->target, 9080) == "outbound|9080||shadow.default.svc.cluster.local");
  CHECK_FALSE(m.actions.path_rewrite.enabled());
  CHECK(m.actions.request_headers.empty());
}

TEST_CASE("header operations and redirects that Envoy or Istio refuse are compile errors") {
  struct Case {
    const char* rule;
    const char* error;
  };
  const Case cases[] = {
      {"to = [{ host = \"reviews\" }]\nrequest_headers = { set = { Host = \"x\" } }",
       "test.toml:15:1: route rule: request_headers: header 'host' cannot be modified: use rewrite.authority\n"},
      {"to = [{ host = \"reviews\" }]\nresponse_headers = { remove = [\":status\"] }",
       "test.toml:15:1: route rule: response_headers: header ':status' cannot be modified: pseudo-headers are not "
       "header operations\n"},
      {"to = [{ host = \"reviews\" }]\nrequest_headers = { add = { \"bad name\" = \"x\" } }",
       "test.toml:15:1: route rule: request_headers: header 'bad name' cannot be modified: not a valid header name\n"},
      {"to = [{ host = \"reviews\" }]\nrequest_headers = { set = { x-a = \"1\\r\\nx-b: 2\" } }",
       "test.toml:15:1: route rule: request_headers: the value of header 'x-a' contains CR, LF or NUL\n"},
      {"redirect = { path = \"/n\" }\nrewrite = { path = \"/r\" }",
       "test.toml:16:12: route rule: a rule with a redirect cannot also rewrite (as in Istio)\n"},
      {"redirect = { path = \"/n\" }\nfault = { abort = { http_status = 500 } }",
       "test.toml:16:12: route rule: a rule with a redirect cannot also inject faults (as in Istio)\n"},
  };
  for (const Case& c : cases) {
    std::string rule = c.rule;
    CAPTURE(rule);
    CHECK(compile_errors(route(rule)) == std::string(c.error));
  }
}

TEST_CASE("a prefix rewrite replaces what the taken match block matched, as Envoy's prefix_rewrite") {
  struct Case {
    const char* match;    // the rule's match blocks ("" for none)
    const char* rewrite;  // rewrite.path
    const char* path;     // request :path
    const char* expected;
    bool full_path = false;  // rewrite.full_path instead of rewrite.path
  };
  const Case cases[] = {
      // Envoy's documented trailing-slash trap: "/api" -> "/" leaves a double slash.
      {"[{ path = { prefix = \"/api/\" } }]", "/", "/api/users", "/users"},
      {"[{ path = { prefix = \"/api\" } }]", "/", "/api/users", "//users"},
      {"[{ path = { prefix = \"/api\" } }]", "/", "/api", "/"},
      {"[{ path = { prefix = \"/api\" } }]", "/", "/apix", "/x"},
      {"[{ path = { prefix = \"/api/\" } }]", "/v2/", "/api/users?id=7", "/v2/users?id=7"},
      {"[{ path = { prefix = \"/API\" }, ignore_uri_case = true }]", "/v2", "/api/x", "/v2/x"},
      // Exact and regex matches replace the whole path; the query string stays.
      {"[{ path = { exact = \"/old\" } }]", "/new", "/old?q=1", "/new?q=1"},
      {"[{ path = { regex = \"/items/[0-9]+\" } }]", "/item", "/items/42?x", "/item?x"},
      // No path condition (or no match block) is Istio's prefix "/".
      {"[{ headers = { x-v = { exact = \"2\" } } }]", "/v2", "/foo", "/v2foo"},
      {"", "/v2/", "/foo/bar", "/v2/foo/bar"},
      // The block that matched decides, not the rule's first.
      {"[{ path = { exact = \"/one\" } }, { path = { prefix = \"/two/\" } }]", "/", "/two/x", "/x"},
      // Gateway API's ReplaceFullPath: the whole path, whatever matched; the query stays.
      {"[{ path = { prefix = \"/api/\" } }]", "/v2", "/api/users?id=7", "/v2?id=7", true},
      {"", "/", "/anything/at/all", "/", true},
  };
  for (const Case& c : cases) {
    std::string match = *c.match ? std::string("match = ") + c.match + "\n" : "";
    std::string path = c.path;
    CAPTURE(match);
    CAPTURE(path);
    std::string key = c.full_path ? "full_path" : "path";
    auto p = must_compile(route(match + "to = [{ host = \"reviews\" }]\nrewrite = { " + key + " = \"" + c.rewrite + "\" }"));
    const Header version{"x-v", "2"};  // for the header-only block
    RequestAttrs req{"GET", c.path, "reviews:9080", "http", std::span<const Header>(&version, 1)};
    SplitMix64 random(1);
    HttpRouteDecision d = select_http_route(*p, HttpRouteQuery{kReviews, 9080, &req}, random);
    REQUIRE(d.outcome == RouteOutcome::Matched);
    CHECK(rewrite_path(d.actions->path_rewrite, req.path, d.match) == c.expected);
  }
  CHECK(rewrite_path(PathRewrite{}, "/kept?q", nullptr) == "/kept?q");  // no rewrite
  CHECK(compile_errors(route("to = [{ host = \"reviews\" }]\nrewrite = { path = \"/a\", full_path = \"/b\" }")) ==
        "test.toml:17:38: route.http.rewrite.full_path: give path (replaces the matched prefix) or full_path, not both\n");
}

TEST_CASE("a mirrored request's authority gets Envoy's -shadow suffix before the port") {
  CHECK(mirror_authority("reviews:9080") == "reviews-shadow:9080");
  CHECK(mirror_authority("reviews") == "reviews-shadow");
  CHECK(mirror_authority("[::1]:80") == "[::1]-shadow:80");
}

TEST_CASE("redirect locations follow Envoy's newUri") {
  struct Case {
    Redirect redirect;
    const char* scheme;
    const char* authority;
    const char* path;
    const char* expected;
  };
  const Case cases[] = {
      {{}, "http", "a.com", "/x?q=1", "http://a.com/x?q=1"},
      {{"", "", 0, "/new"}, "http", "a.com:8080", "/old?q=1", "http://a.com:8080/new?q=1"},
      {{"", "", 0, "/new?b=2"}, "http", "a.com", "/old?q=1", "http://a.com/new?b=2"},  // its own query wins
      {{"", "", 0, "new"}, "http", "a.com", "/old", "http://a.com/new"},  // a leading slash is added
      {{"", "b.com", 0, ""}, "http", "a.com:8080", "/x", "http://b.com/x"},  // a host redirect drops the port
      {{"", "b.com", 9000, ""}, "http", "a.com:8080", "/x", "http://b.com:9000/x"},
      {{"", "", 8443, ""}, "http", "a.com:8080", "/x", "http://a.com:8443/x"},
      {{"https", "", 0, ""}, "http", "a.com:80", "/x", "https://a.com/x"},  // the old default port goes
      {{"https", "", 0, ""}, "http", "a.com:8080", "/x", "https://a.com:8080/x"},
      {{"http", "", 0, ""}, "https", "a.com:443", "/x", "http://a.com/x"},
      {{"https", "", 443, ""}, "http", "a.com:80", "/x", "https://a.com:443/x"},
      {{"https", "", 0, ""}, "http", "[::1]:80", "/x", "https://[::1]/x"},
      {{"", "", 8443, ""}, "http", "[::1]", "/x", "http://[::1]:8443/x"},
  };
  for (const Case& c : cases) {
    std::string expected = c.expected;
    CAPTURE(expected);
    CHECK(redirect_location(c.redirect, c.scheme, c.authority, c.path) == c.expected);
  }
}

TEST_CASE("header operations apply in Envoy's order: remove, then set, then add") {
  auto p = must_compile(route(R"(to = [{ host = "reviews" }]
request_headers = { remove = ["x-a", "x-b"], set = { x-b = "set", x-c = "set" }, add = { x-c = "added", x-d = "1" } })"));
  Headers h{{{"x-a", "1"}, {"x-b", "old"}, {"x-c", "old"}, {"x-c", "older"}, {"x-keep", "k"}}};
  apply_header_ops(only_rule_actions(*p).request_headers, h);
  // x-b is removed and set again; set x-c replaces both old values, then add appends.
  CHECK(h.list == std::vector<std::pair<std::string, std::string>>{
                      {"x-keep", "k"}, {"x-b", "set"}, {"x-c", "set"}, {"x-c", "added"}, {"x-d", "1"}});
}

TEST_CASE("percentages become millionths, drawn as Envoy draws a fractional percent") {
  CHECK(Fraction::of_percent(100).per_million == 1000000);
  CHECK(Fraction::of_percent(0).per_million == 0);
  CHECK(Fraction::of_percent(0.1).per_million == 1000);
  CHECK(Fraction::of_percent(0.29).per_million == 2900);  // rounded, not truncated to 2899
  Fraction f{1000};
  CHECK(f.hit(0));
  CHECK(f.hit(999));
  CHECK_FALSE(f.hit(1000));
  CHECK(f.hit(3'000'999));  // the draw is taken modulo a million
  CHECK_FALSE(Fraction{0}.hit(0));
  CHECK(Fraction{}.always());
}

TEST_CASE("a host without a route gets the default actions: Istio's retries, nothing else") {
  const RouteActions& a = default_route_actions();
  CHECK(a.timeout.count() == 0);
  CHECK(a.retries.istio_default);
  CHECK(a.retries.attempts == 2);
  CHECK(a.retries.status_codes == std::vector<uint16_t>{503});
  CHECK(&default_retry_policy() == &a.retries);
  CHECK_FALSE(a.fault);
  CHECK_FALSE(a.redirect);
  CHECK_FALSE(a.path_rewrite.enabled());
  CHECK(a.request_headers.empty());
  CHECK(a.response_headers.empty());
}
