// Route selection, VirtualService semantics: the rules of the route bound to the host (and
// gateway) are tried in order and the first whose match blocks match wins (blocks are ORed,
// the conditions inside one block are ANDed; a rule without blocks matches everything).
// Then one destination is picked with probability weight/100. No route for the host means
// the Default outcome (straight to the host); a route without a matching rule means NoMatch.
#include <array>

#include "policy/engine.hpp"
#include "policy/names.hpp"

namespace mesh::policy {
namespace {

std::optional<std::string_view> header(std::span<const Header> headers, std::string_view name) {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return h.value;
  return std::nullopt;
}

// The raw value of query parameter `name` in a :path ("/p?a=1&b=2").
std::optional<std::string_view> query_param(std::string_view path, std::string_view name) {
  size_t q = path.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = path.substr(q + 1);
  rest = rest.substr(0, rest.find('#'));
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

bool source_ok(const model::Labels& labels, const std::string& ns, const Workload* source) {
  if (!ns.empty() && (!source || source->ns != ns)) return false;
  return labels.empty() || (source && model::labels_match(labels, source->labels));
}

bool block_matches(const HttpMatcher& m, const HttpRouteQuery& q) {
  const RequestAttrs& r = *q.request;
  const uint16_t f = m.fields;
  if ((f & kMatchPort) && m.port != q.port) return false;
  if (f & kMatchPath) {
    // Envoy: prefix matches the whole :path; exact and regex match it without the query.
    bool whole = m.path->kind() == StringMatcher::Kind::Prefix;
    if (!m.path->matches(whole ? r.path : r.path.substr(0, r.path.find('?')))) return false;
  }
  if ((f & kMatchMethod) && !m.method->matches(r.method)) return false;
  if ((f & kMatchAuthority) && !m.authority->matches(r.authority)) return false;
  if ((f & kMatchScheme) && !m.scheme->matches(r.scheme)) return false;
  if (f & kMatchHeaders) {
    for (const auto& h : m.headers) {
      auto v = header(r.headers, h.name);
      if (!v || !h.match.matches(*v)) return false;
    }
  }
  if (f & kMatchWithoutHeaders) {
    for (const auto& h : m.without_headers) {
      auto v = header(r.headers, h.name);
      if (v && h.match.matches(*v)) return false;
    }
  }
  if (f & kMatchQuery) {
    for (const auto& p : m.query) {
      auto v = query_param(r.path, p.name);
      if (!v || !p.match.matches(*v)) return false;
    }
  }
  return !(f & kMatchSource) || source_ok(m.source_labels, m.source_namespace, q.source);
}

bool tcp_block_matches(const model::TcpMatch& m, const TcpRouteQuery& q) {
  if (m.port && m.port != q.port) return false;
  if (!m.destination_subnets.empty()) {
    bool in = false;
    for (const auto& c : m.destination_subnets) in = in || c.contains(q.destination_ip);
    if (!in) return false;
  }
  return source_ok(m.source_labels, m.source_namespace, q.source);
}

const RouteTarget* pick(const std::vector<RouteTarget>& targets, const std::vector<uint32_t>& cumulative,
                        RandomSource& random) {
  if (targets.empty() || cumulative.back() == 0) return nullptr;
  if (targets.size() == 1) return &targets[0];
  // Lemire's multiply-shift maps 32 random bits onto [0, total) without a division.
  uint64_t r = ((random.next() >> 32) * cumulative.back()) >> 32;
  for (size_t i = 0; i < targets.size(); ++i)
    if (r < cumulative[i]) return &targets[i];
  return &targets.back();
}

// The first block of the rule that matches: its address, `kEveryRequest` for a rule without
// blocks, null when none matches.
const HttpMatcher kEveryRequest{};
const HttpMatcher* matching_block(const HttpRule& rule, const HttpRouteQuery& q) {
  if (rule.matches.empty()) return &kEveryRequest;
  for (const auto& m : rule.matches)
    if (block_matches(m, q)) return &m;
  return nullptr;
}

}  // namespace

bool http_rule_matches(const HttpRule& rule, const HttpRouteQuery& q) { return matching_block(rule, q) != nullptr; }

HttpRouteDecision select_http_route(const CompiledPolicy& policy, const HttpRouteQuery& q, RandomSource& random) {
  HttpRouteDecision d;
  d.route = q.service && q.gateway == kMeshGateway ? q.service->route : policy.routes().for_host(q.host, q.gateway);
  if (!d.route || d.route->http.empty() || !q.request) return d;
  for (const HttpRule& rule : d.route->http) {
    const HttpMatcher* block = matching_block(rule, q);
    if (!block) continue;
    d.outcome = RouteOutcome::Matched;
    d.rule = &rule;
    d.match = block == &kEveryRequest ? nullptr : block;
    d.target = pick(rule.targets, rule.cumulative, random);
    d.actions = &rule.actions;
    d.mirror = rule.mirror ? &*rule.mirror : nullptr;
    return d;
  }
  d.outcome = RouteOutcome::NoMatch;
  return d;
}

TcpRouteDecision select_tcp_route(const CompiledPolicy& policy, const TcpRouteQuery& q, RandomSource& random) {
  TcpRouteDecision d;
  d.route = policy.routes().for_host(q.host, q.gateway);
  if (!d.route || d.route->tcp.empty()) return d;
  for (const TcpRule& rule : d.route->tcp) {
    bool match = rule.spec->match.empty();
    for (const auto& m : rule.spec->match) match = match || tcp_block_matches(m, q);
    if (!match) continue;
    d.outcome = RouteOutcome::Matched;
    d.rule = &rule;
    d.target = pick(rule.targets, rule.cumulative, random);
    return d;
  }
  d.outcome = RouteOutcome::NoMatch;
  return d;
}

std::string_view to_string(RouteOutcome o) {
  switch (o) {
    case RouteOutcome::Default: return "default";
    case RouteOutcome::Matched: return "matched";
    case RouteOutcome::NoMatch: return "no-match";
  }
  return "?";
}

const RetryPolicy& default_retry_policy() { return default_route_actions().retries; }

const TrafficPolicy& host_traffic_policy(const CompiledPolicy& policy, std::string_view host) {
  const Destination* d = policy.destinations().for_host(host);
  return d ? d->traffic_policy : default_traffic_policy();
}

}  // namespace mesh::policy
