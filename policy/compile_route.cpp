// Compile pass for [[route]]: gateways and hosts bound (one route per host and gateway),
// rules compiled in order with their matchers, destinations resolved to services, externals
// and subsets (each with its resolved traffic policy and cluster key), weights checked, and
// each HTTP rule's actions compiled (RouteActions: Istio's retry defaults, faults, rewrites,
// redirects, validated header operations) so the data path only reads them.
#include <algorithm>
#include <array>

#include <fmt/format.h>
#include <re2/re2.h>

#include "daemon/base/strings.hpp"
#include "policy/compile_internal.hpp"
#include "policy/names.hpp"

namespace mesh::policy::detail {
namespace {

constexpr std::array<std::pair<std::string_view, uint32_t>, 14> kRetryBits{{
    {"5xx", kRetry5xx}, {"gateway-error", kRetryGatewayError}, {"reset", kRetryReset},
    {"connect-failure", kRetryConnectFailure}, {"retriable-4xx", kRetryRetriable4xx},
    {"refused-stream", kRetryRefusedStream}, {"retriable-status-codes", kRetryRetriableStatusCodes},
    {"retriable-headers", kRetryRetriableHeaders}, {"envoy-ratelimited", kRetryEnvoyRateLimited},
    {"cancelled", kRetryCancelled}, {"deadline-exceeded", kRetryDeadlineExceeded}, {"internal", kRetryInternal},
    {"resource-exhausted", kRetryResourceExhausted}, {"unavailable", kRetryUnavailable}}};

// Istio's retry policy when a rule has no retries table (or no retry_on).
constexpr uint32_t kIstioDefaultRetryOn =
    kRetryConnectFailure | kRetryRefusedStream | kRetryUnavailable | kRetryCancelled | kRetryRetriableStatusCodes;

// Whether a gateway server host ("host", "ns/host", "*/host", "./host") exposes a route host.
bool server_exposes(std::string_view server_host, std::string_view route_host, std::string_view route_ns,
                    std::string_view gateway_ns) {
  if (size_t slash = server_host.find('/'); slash != std::string_view::npos) {
    std::string_view ns = server_host.substr(0, slash);
    if (ns != "*" && ns != route_ns && !(ns == "." && route_ns == gateway_ns)) return false;
    server_host = server_host.substr(slash + 1);
  }
  return host_matches(server_host, route_host) || server_host == route_host;
}

}  // namespace

void Compiler::routes() {
  StringMap<SourceLoc> seen;
  for (const model::Route& spec : src_.routes) {
    std::string id = fmt::format("{}/{}", spec.meta.ns, spec.meta.name);
    if (!unique(seen, id, spec.meta.loc, "route")) continue;
    route(spec, static_cast<uint32_t>(p_.routes_.items().size()));
  }
}

void Compiler::route(const model::Route& spec, uint32_t index) {
  Route r;
  r.id = fmt::format("{}/{}", spec.meta.ns, spec.meta.name);
  r.spec = &spec;
  bind_hosts(spec, route_gateways(spec), index);
  for (uint32_t i = 0; i < spec.http.size(); ++i) r.http.push_back(http_rule(spec, spec.http[i], i));
  for (uint32_t i = 0; i < spec.tcp.size(); ++i) r.tcp.push_back(tcp_rule(spec, spec.tcp[i], i));
  p_.routes_.items().push_back(std::move(r));
}

std::vector<std::string> Compiler::route_gateways(const model::Route& spec) {
  if (spec.gateways.empty()) return {std::string(kMeshGateway)};
  std::vector<std::string> out;
  for (const auto& g : spec.gateways) {
    if (g.value == kMeshGateway) {
      out.emplace_back(kMeshGateway);
      continue;
    }
    size_t slash = g.value.find('/');
    std::string ns = slash == std::string::npos ? spec.meta.ns : g.value.substr(0, slash);
    std::string name = slash == std::string::npos ? g.value : g.value.substr(slash + 1);
    if (const Gateway* gw = p_.gateways_.by_name(ns, name)) {
      out.push_back(gw->id);
      continue;
    }
    std::vector<std::string_view> known{kMeshGateway};
    for (const auto& gw : p_.gateways_.all()) known.push_back(gw.id);
    std::string message = fmt::format("route '{}/{}': unknown gateway '{}/{}'", spec.meta.ns, spec.meta.name, ns, name);
    if (auto near = base::closest_match(fmt::format("{}/{}", ns, name), known)) message += fmt::format("; did you mean '{}'?", *near);
    d_.error(g.loc, std::move(message));
  }
  return out;
}

void Compiler::bind_hosts(const model::Route& spec, const std::vector<std::string>& gateways, uint32_t index) {
  const std::string id = fmt::format("{}/{}", spec.meta.ns, spec.meta.name);
  for (const std::string& gw : gateways) {
    const Gateway* gateway = gw == kMeshGateway ? nullptr : p_.gateways_.by_name(gw.substr(0, gw.find('/')), gw.substr(gw.find('/') + 1));
    for (const auto& host : spec.hosts) {
      std::string key = host.value;
      if (!gateway && host.value.find('*') == std::string::npos) {
        HostRef ref = resolve(host, spec.meta.ns, fmt::format("route '{}'", id));
        if (!ref) continue;
        key = std::string(ref.host);
      } else if (gateway) {
        bool exposed = false;
        for (const auto& server : gateway->spec->servers)
          for (const auto& sh : server.hosts)
            exposed = exposed || server_exposes(sh.value, host.value, spec.meta.ns, gateway->spec->meta.ns);
        if (!exposed) {
          d_.error(host.loc, fmt::format("route '{}': host '{}' is not served by gateway '{}' ({})", id, host.value, gw,
                                         where(gateway->spec->meta.loc)));
          continue;
        }
      }
      auto& hosts = p_.routes_.index()[gw];
      if (auto [it, inserted] = hosts.emplace(key, index); !inserted) {
        const Route& other = p_.routes_.items()[it->second];
        d_.error(host.loc, fmt::format("route '{}': host '{}' on gateway '{}' is already routed by route '{}' ({})", id, key,
                                       gw, other.id, where(other.spec->meta.loc)));
      }
    }
  }
}

HttpRule Compiler::http_rule(const model::Route& route, const model::HttpRule& spec, uint32_t index) {
  HttpRule r;
  r.index = index;
  r.name = spec.name;
  r.spec = &spec;
  for (const auto& m : spec.match) r.matches.push_back(http_matcher(m));
  if (!spec.redirect) targets(spec.to, route.meta.ns, spec.loc, r.targets, r.cumulative);
  if (spec.fault && (spec.timeout || spec.retries)) {
    d_.error(spec.fault->loc, "route rule: a rule with fault injection has no timeout or retries (as in Istio); "
                              "remove them, or inject the fault in a separate rule");
  }
  r.actions = route_actions(spec);
  if (spec.mirror) {
    if (auto t = target(spec.mirror->destination, route.meta.ns)) {
      r.mirror = Mirror{std::move(*t), Fraction::of_percent(spec.mirror->percentage)};
    }
  }
  return r;
}

TcpRule Compiler::tcp_rule(const model::Route& route, const model::TcpRule& spec, uint32_t index) {
  TcpRule r;
  r.index = index;
  r.name = spec.name;
  r.spec = &spec;
  targets(spec.to, route.meta.ns, spec.loc, r.targets, r.cumulative);
  return r;
}

bool Compiler::targets(const std::vector<model::RouteDestination>& in, std::string_view ns, SourceLoc rule_loc,
                       std::vector<RouteTarget>& out, std::vector<uint32_t>& cumulative) {
  uint32_t sum = 0;
  bool weighted = true;
  for (const auto& d : in) {
    uint32_t weight = d.weight.value_or(in.size() == 1 ? 100 : 0);
    if (!d.weight && in.size() > 1) {
      d_.error(d.loc, "route destination: with several destinations each needs a weight (0-100)");
      weighted = false;
    }
    sum += weight;
    auto t = target(d, ns);
    if (!t) continue;
    t->weight = weight;
    out.push_back(std::move(*t));
    cumulative.push_back(cumulative.empty() ? weight : cumulative.back() + weight);
  }
  if (weighted && sum != 100) {
    SourceLoc loc = in.size() == 1 ? in.front().weight_loc : rule_loc;
    d_.error(loc, fmt::format("route rule: destination weights sum to {}; they must sum to 100", sum));
    return false;
  }
  return weighted && out.size() == in.size();
}

std::optional<RouteTarget> Compiler::target(const model::RouteDestination& d, std::string_view ns) {
  HostRef ref = resolve(d.host, ns, "route destination");
  if (!ref) return std::nullopt;
  RouteTarget t;
  t.host = std::string(ref.host);
  t.service = ref.service;
  t.external = ref.external;
  t.port = d.port;
  const Destination* dest = p_.destinations_.for_host(t.host);
  if (dest) t.traffic_policy = &dest->traffic_policy;
  const auto& ports = t.service ? t.service->ports : t.external->spec->ports;
  if (d.port && !ports.empty() && std::none_of(ports.begin(), ports.end(), [&](const auto& p) { return p.port == d.port; })) {
    d_.error(d.loc, fmt::format("route destination: host '{}' has no port {}", t.host, d.port));
    return std::nullopt;
  }
  if (d.subset.value.empty()) {
    if (t.port) t.cluster = cluster_key(t.host, "", t.port);
    return t;
  }
  if (!dest) {
    d_.error(d.subset.loc, fmt::format("route destination: subset '{}' of host '{}' is not defined: no [[destination]] "
                                       "for this host", d.subset.value, t.host));
    return std::nullopt;
  }
  t.subset = dest->subset(d.subset.value);
  if (!t.subset) {
    std::vector<std::string_view> names;
    for (const auto& s : dest->subsets) names.push_back(s.name);
    std::string message = fmt::format("route destination: unknown subset '{}' of host '{}' (destination '{}' at {})",
                                      d.subset.value, t.host, dest->id, where(dest->spec->meta.loc));
    if (auto near = base::closest_match(d.subset.value, names)) message += fmt::format("; did you mean '{}'?", *near);
    d_.error(d.subset.loc, std::move(message));
    return std::nullopt;
  }
  t.traffic_policy = &t.subset->traffic_policy;
  if (t.port) t.cluster = cluster_key(t.host, t.subset->name, t.port);
  return t;
}

HttpMatcher Compiler::http_matcher(const model::HttpMatch& m) {
  HttpMatcher out;
  if (m.path) out.path = string_matcher(*m.path, m.ignore_uri_case);
  if (m.method) out.method = string_matcher(*m.method, false);
  if (m.authority) out.authority = string_matcher(*m.authority, false);
  if (m.scheme) out.scheme = string_matcher(*m.scheme, false);
  auto keys = [&](const std::vector<model::KeyMatch>& in, std::vector<KeyMatcher>& to) {
    for (const auto& k : in)
      if (auto sm = string_matcher(k.match, false)) to.push_back(KeyMatcher{k.name, std::move(*sm)});
  };
  keys(m.headers, out.headers);
  keys(m.without_headers, out.without_headers);
  keys(m.query, out.query);
  out.port = m.port;
  out.source_labels = m.source_labels;
  out.source_namespace = m.source_namespace;
  auto bit = [](bool present, uint16_t b) { return static_cast<uint16_t>(present ? b : 0); };
  out.fields = bit(out.port != 0, kMatchPort) | bit(out.path.has_value(), kMatchPath) |
               bit(out.method.has_value(), kMatchMethod) | bit(out.authority.has_value(), kMatchAuthority) |
               bit(out.scheme.has_value(), kMatchScheme) | bit(!out.headers.empty(), kMatchHeaders) |
               bit(!out.without_headers.empty(), kMatchWithoutHeaders) | bit(!out.query.empty(), kMatchQuery) |
               bit(!out.source_labels.empty() || !out.source_namespace.empty(), kMatchSource);
  return out;
}

std::optional<StringMatcher> Compiler::string_matcher(const model::StringMatch& m, bool ignore_case) {
  using Kind = model::StringMatch::Kind;
  std::unique_ptr<re2::RE2> regex;
  if (m.kind == Kind::Regex) {
    // RE2 runs in time linear in the input (no backtracking), as Envoy's safe_regex; the
    // program size bounds the work per byte and the memory of the automaton.
    re2::RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(1 << 20);
    regex = std::make_unique<re2::RE2>(m.value, options);
    if (!regex->ok()) {
      d_.error(m.loc, fmt::format("invalid regex '{}': {}", m.value, regex->error()));
      return std::nullopt;
    }
    if (static_cast<uint32_t>(regex->ProgramSize()) > opt_.limits.max_regex_program_size) {
      d_.error(m.loc, fmt::format("regex '{}' has program size {}, over the limit max_regex_program_size = {}; "
                                  "simplify it", m.value, regex->ProgramSize(), opt_.limits.max_regex_program_size));
      return std::nullopt;
    }
  }
  return StringMatcher(m.kind, m.value, std::move(regex), ignore_case && m.kind != Kind::Regex);
}

HeaderOps Compiler::header_ops(const model::HeaderOps& in, SourceLoc loc, std::string_view what) {
  HeaderOps out;
  auto name_ok = [&](std::string name) -> std::optional<std::string> {
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (is_modifiable_header(name)) return name;
    d_.error(loc, fmt::format("route rule: {}: header '{}' cannot be modified: {}", what, name,
                              name == "host" || name == ":authority" ? "use rewrite.authority"
                              : name.starts_with(':')               ? "pseudo-headers are not header operations"
                                                                    : "not a valid header name"));
    return std::nullopt;
  };
  auto values = [&](const model::Labels& kv, std::vector<HeaderValue>& to) {
    for (const auto& entry : kv) {
      auto name = name_ok(entry.first);
      if (!name) continue;
      if (entry.second.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
        d_.error(loc, fmt::format("route rule: {}: the value of header '{}' contains CR, LF or NUL", what, *name));
        continue;
      }
      to.push_back(HeaderValue{std::move(*name), entry.second});
    }
  };
  for (const auto& r : in.remove)
    if (auto name = name_ok(r)) out.remove.push_back(std::move(*name));
  values(in.set, out.set);
  values(in.add, out.add);
  return out;
}

RouteActions Compiler::route_actions(const model::HttpRule& spec) {
  RouteActions a;
  a.timeout = spec.timeout.value_or(base::Duration{});
  a.retries = retry_policy(spec);
  if (spec.fault) {
    Fault f;
    if (const auto& d = spec.fault->delay) f.delay = FaultDelay{d->fixed_delay, Fraction::of_percent(d->percentage)};
    if (const auto& ab = spec.fault->abort) f.abort = FaultAbort{ab->http_status, Fraction::of_percent(ab->percentage)};
    a.fault = f;
  }
  if (spec.rewrite) {
    using Kind = PathRewrite::Kind;
    if (!spec.rewrite->path.empty()) a.path_rewrite = PathRewrite{Kind::Prefix, spec.rewrite->path};
    if (!spec.rewrite->full_path.empty()) a.path_rewrite = PathRewrite{Kind::FullPath, spec.rewrite->full_path};
    a.authority_rewrite = spec.rewrite->authority;
  }
  if (const auto& r = spec.redirect) {
    // As Istio's validation: a redirect answers the request, so nothing else may act on it.
    if (spec.rewrite) d_.error(r->loc, "route rule: a rule with a redirect cannot also rewrite (as in Istio)");
    if (spec.fault) d_.error(r->loc, "route rule: a rule with a redirect cannot also inject faults (as in Istio)");
    std::string scheme = r->scheme;
    for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    a.redirect = Redirect{std::move(scheme), r->authority, r->port, r->path, r->code};
  }
  a.request_headers = header_ops(spec.request_headers, spec.loc, "request_headers");
  a.response_headers = header_ops(spec.response_headers, spec.loc, "response_headers");
  return a;
}

RetryPolicy Compiler::retry_policy(const model::HttpRule& spec) {
  RetryPolicy p;
  if (spec.fault) return p;  // Istio enables no retries on a rule that injects faults
  if (!spec.retries) {
    p.attempts = 2;
    p.on = kIstioDefaultRetryOn;
    p.status_codes = {503};
    p.istio_default = true;
    return p;
  }
  p.attempts = spec.retries->attempts;
  p.per_try_timeout = spec.retries->per_try_timeout.value_or(base::Duration{});
  if (spec.retries->retry_on.empty()) {
    p.on = kIstioDefaultRetryOn;
    p.status_codes = {503};
    return p;
  }
  for (const auto& c : spec.retries->retry_on) {
    if (!c.value.empty() && c.value.find_first_not_of("0123456789") == std::string::npos) {
      p.on |= kRetryRetriableStatusCodes;
      p.status_codes.push_back(static_cast<uint16_t>(std::stoi(c.value)));
      continue;
    }
    for (const auto& [name, bit] : kRetryBits)
      if (name == c.value) p.on |= bit;
  }
  return p;
}

}  // namespace mesh::policy::detail
