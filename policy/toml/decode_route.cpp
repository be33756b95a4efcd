// Decoder for [[route]] (≈ Istio VirtualService): hosts, ordered http and tcp rules with their
// matches, weighted destinations, timeouts, retries, faults, rewrites, redirects, mirrors
// and header edits, and the Linkerd-style retry budget.
#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "daemon/base/strings.hpp"
#include "policy/toml/decode.hpp"

namespace mesh::policy::toml_codec {
namespace {

using model::StringMatch;

// Envoy's retry_on conditions (HTTP and gRPC); numbers are retriable status codes.
constexpr std::array<std::string_view, 14> kRetryOn{
    "5xx", "gateway-error", "reset", "connect-failure", "retriable-4xx", "refused-stream",
    "retriable-status-codes", "retriable-headers", "envoy-ratelimited", "cancelled",
    "deadline-exceeded", "internal", "resource-exhausted", "unavailable"};

bool header_name_ok(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool decode_key_matches(TableReader& r, std::string_view key, std::vector<model::KeyMatch>& out, bool allow_prefix,
                        bool header_names) {
  const toml::table* t = r.table(key);
  if (!t) return false;
  for (auto&& [k, v] : *t) {
    model::KeyMatch m;
    m.name = std::string(k.str());
    if (header_names) {
      for (char& c : m.name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!header_name_ok(m.name)) {
        r.ctx().diags.error(r.ctx().loc(k.source()),
                            fmt::format("{}: '{}' is not a valid header name{}", r.sub(key), k.str(),
                                        k.str().starts_with(":") ? " (use path, method, authority or scheme)" : ""));
        continue;
      }
    }
    if (decode_string_match(r, fmt::format("{}.{}", key, k.str()), v, m.match, allow_prefix)) out.push_back(std::move(m));
  }
  return true;
}

std::optional<StringMatch> optional_match(TableReader& r, std::string_view key) {
  const toml::node* n = r.take(key);
  StringMatch m;
  if (n && decode_string_match(r, key, *n, m, true)) return m;
  return std::nullopt;
}

model::HttpMatch decode_http_match(TableReader& r) {
  model::HttpMatch m;
  m.loc = r.loc();
  r.get("name", m.name);
  m.path = optional_match(r, "path");
  m.method = optional_match(r, "method");
  m.authority = optional_match(r, "authority");
  m.scheme = optional_match(r, "scheme");
  decode_key_matches(r, "headers", m.headers, true, true);
  decode_key_matches(r, "without_headers", m.without_headers, true, true);
  decode_key_matches(r, "query", m.query, false, false);
  r.get_port("port", m.port);
  r.get_labels("source_labels", m.source_labels);
  r.get("source_namespace", m.source_namespace);
  r.get("ignore_uri_case", m.ignore_uri_case);
  r.finish();
  return m;
}

model::RouteDestination decode_destination_ref(TableReader& r, bool weighted) {
  model::RouteDestination d;
  d.loc = r.loc();
  if (r.require("host") && r.get("host", d.host.value)) {
    d.host.loc = r.ctx().loc(*r.take("host"));
    check_host(r, "host", d.host, false);
  }
  if (r.get("subset", d.subset.value)) d.subset.loc = r.ctx().loc(*r.take("subset"));
  r.get_port("port", d.port);
  if (weighted) {
    uint32_t w = 0;
    if (r.get_u32("weight", w, 0, 100)) {
      d.weight = w;
      d.weight_loc = r.ctx().loc(*r.take("weight"));
    }
  }
  return d;
}

bool decode_destinations(TableReader& r, std::vector<model::RouteDestination>& out) {
  return r.each_table("to", r.ctx().limits.max_destinations_per_rule, "max_destinations_per_rule",
                      [&](TableReader& dr) {
                        out.push_back(decode_destination_ref(dr, true));
                        dr.finish();
                      });
}

std::optional<model::Retries> decode_retries(TableReader& parent) {
  const toml::table* t = parent.table("retries");
  if (!t) return std::nullopt;
  TableReader r(parent.ctx(), *t, parent.sub("retries"));
  model::Retries out;
  out.loc = r.loc();
  r.get_u32("attempts", out.attempts, 0, 100);
  base::Duration per_try{};
  if (r.get_duration("per_try_timeout", per_try)) {
    if (per_try < std::chrono::milliseconds(1)) r.error_at(*r.take("per_try_timeout"), "per_try_timeout", "must be at least 1ms");
    else out.per_try_timeout = per_try;
  }
  // Istio writes "5xx,connect-failure"; an array of strings is accepted too.
  std::vector<model::Located<std::string>> conditions;
  if (const toml::node* n = r.take("retry_on"); n && n->is_string()) {
    std::string text;
    if (r.string_value(*n, "retry_on", text)) {
      size_t start = 0;
      while (start <= text.size()) {
        size_t comma = text.find(',', start);
        std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        conditions.push_back({item, r.ctx().loc(*n)});
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
  } else if (n) {
    r.get_located_strings("retry_on", conditions);
  }
  for (auto& c : conditions) {
    bool code = c.value.size() == 3 && c.value.find_first_not_of("0123456789") == std::string::npos &&
                c.value >= "100" && c.value <= "599";
    if (code || std::find(kRetryOn.begin(), kRetryOn.end(), c.value) != kRetryOn.end()) {
      out.retry_on.push_back(std::move(c));
      continue;
    }
    std::string msg = fmt::format("{}: unknown retry condition '{}'", r.sub("retry_on"), c.value);
    if (auto near = base::closest_match(c.value, kRetryOn)) msg += fmt::format("; did you mean '{}'?", *near);
    else msg += "; expected an Envoy retry_on condition (5xx, gateway-error, connect-failure, ...) or a status code";
    r.ctx().diags.error(c.loc, std::move(msg));
  }
  r.finish();
  return out;
}

std::optional<model::Fault> decode_fault(TableReader& parent) {
  const toml::table* t = parent.table("fault");
  if (!t) return std::nullopt;
  TableReader r(parent.ctx(), *t, parent.sub("fault"));
  model::Fault f;
  f.loc = r.loc();
  if (const toml::table* d = r.table("delay")) {
    TableReader dr(r.ctx(), *d, r.sub("delay"));
    model::FaultDelay delay;
    if (dr.require("fixed_delay") && dr.get_duration("fixed_delay", delay.fixed_delay) &&
        delay.fixed_delay < std::chrono::milliseconds(1)) {
      dr.error_at(*dr.take("fixed_delay"), "fixed_delay", "must be at least 1ms");
    }
    dr.get("percentage", delay.percentage, 0, 100);
    dr.finish();
    f.delay = delay;
  }
  if (const toml::table* a = r.table("abort")) {
    TableReader ar(r.ctx(), *a, r.sub("abort"));
    model::FaultAbort abort;
    uint32_t status = 0;
    if (ar.require("http_status") && ar.get_u32("http_status", status, 200, 599)) abort.http_status = static_cast<uint16_t>(status);
    ar.get("percentage", abort.percentage, 0, 100);
    ar.finish();
    f.abort = abort;
  }
  r.finish();
  if (!f.delay && !f.abort) r.ctx().diags.error(f.loc, fmt::format("{}: needs delay or abort", r.path()));
  return f;
}

void decode_header_ops(TableReader& parent, std::string_view key, model::HeaderOps& out) {
  const toml::table* t = parent.table(key);
  if (!t) return;
  TableReader r(parent.ctx(), *t, parent.sub(key));
  for (std::string_view op : {"set", "add"}) {
    const toml::table* kv = r.table(op);
    if (!kv) continue;
    for (auto&& [k, v] : *kv) {
      std::string value;
      if (r.string_value(v, fmt::format("{}.{}", op, k.str()), value)) {
        (op == "set" ? out.set : out.add).insert_or_assign(std::string(k.str()), std::move(value));
      }
    }
  }
  r.get_strings("remove", out.remove);
  r.finish();
}

}  // namespace

bool decode_string_match(TableReader& parent, std::string_view key, const toml::node& n, StringMatch& out,
                         bool allow_prefix) {
  const toml::table* t = n.as_table();
  if (!t) {
    parent.error_at(n, key, fmt::format("expected a match table such as {{ exact = \"...\" }}, found {}", type_name(n)));
    return false;
  }
  TableReader r(parent.ctx(), *t, parent.sub(key));
  StringMatch m;
  m.loc = r.loc();
  int kinds = 0;
  if (r.get("exact", m.value)) ++kinds, m.kind = StringMatch::Kind::Exact;
  if (allow_prefix && r.get("prefix", m.value)) ++kinds, m.kind = StringMatch::Kind::Prefix;
  if (r.get("regex", m.value)) ++kinds, m.kind = StringMatch::Kind::Regex;
  if (const toml::node* p = allow_prefix ? nullptr : r.take("prefix")) {
    r.error_at(*p, "prefix", "query parameters match exact or regex only (as in Istio)");
    return false;
  }
  bool present = false;
  if (r.get("present", present)) {
    if (!present) r.error_at(*r.take("present"), "present", "only `present = true` is meaningful; use without_headers");
    ++kinds, m.kind = StringMatch::Kind::Present, m.value.clear();
  }
  r.finish();
  if (kinds != 1) {
    r.ctx().diags.error(m.loc, fmt::format("{}: give exactly one of {}", r.path(),
                                           allow_prefix ? "exact, prefix, regex, present" : "exact, regex, present"));
    return false;
  }
  if (m.kind == StringMatch::Kind::Regex) m.loc = r.ctx().loc(*r.take("regex"));
  out = std::move(m);
  return true;
}

namespace {

model::HttpRule decode_http_rule(TableReader& r) {
  model::HttpRule rule;
  rule.loc = r.loc();
  r.get("name", rule.name);
  const Limits& limits = r.ctx().limits;
  r.each_table("match", limits.max_matches_per_rule, "max_matches_per_rule",
               [&](TableReader& mr) { rule.match.push_back(decode_http_match(mr)); });
  decode_destinations(r, rule.to);
  r.get_duration("timeout", rule.timeout);
  rule.retries = decode_retries(r);
  rule.fault = decode_fault(r);
  if (const toml::table* t = r.table("rewrite")) {
    TableReader rr(r.ctx(), *t, r.sub("rewrite"));
    model::Rewrite rw;
    rr.get("path", rw.path);
    rr.get("full_path", rw.full_path);
    rr.get("authority", rw.authority);
    if (!rw.path.empty() && !rw.full_path.empty()) {
      rr.error_at(*rr.take("full_path"), "full_path", "give path (replaces the matched prefix) or full_path, not both");
    }
    rr.finish();
    rule.rewrite = std::move(rw);
  }
  if (const toml::table* t = r.table("redirect")) {
    TableReader rr(r.ctx(), *t, r.sub("redirect"));
    model::Redirect rd;
    rd.loc = rr.loc();
    rr.get("path", rd.path);
    rr.get("authority", rd.authority);
    rr.get("scheme", rd.scheme);
    rr.get_port("port", rd.port);
    uint32_t code = 301;
    static constexpr std::array<uint32_t, 5> kCodes{301, 302, 303, 307, 308};
    if (rr.get_u32("code", code, 301, 308) && std::find(kCodes.begin(), kCodes.end(), code) == kCodes.end()) {
      rr.error_at(*rr.take("code"), "code", "a redirect code is one of 301, 302, 303, 307, 308");
    }
    rd.code = static_cast<uint16_t>(code);
    rr.finish();
    rule.redirect = std::move(rd);
  }
  if (const toml::table* t = r.table("mirror")) {
    TableReader mr(r.ctx(), *t, r.sub("mirror"));
    model::Mirror m;
    m.destination = decode_destination_ref(mr, false);
    mr.get("percentage", m.percentage, 0, 100);
    mr.finish();
    rule.mirror = std::move(m);
  }
  decode_header_ops(r, "request_headers", rule.request_headers);
  decode_header_ops(r, "response_headers", rule.response_headers);
  r.finish();
  if (rule.to.empty() && !rule.redirect) {
    r.ctx().diags.error(rule.loc, fmt::format("{}: a rule needs destinations (to = [...]) or a redirect", r.path()));
  }
  if (!rule.to.empty() && rule.redirect) {
    r.ctx().diags.error(rule.redirect->loc, fmt::format("{}: a rule has either destinations or a redirect, not both", r.path()));
  }
  return rule;
}

model::TcpRule decode_tcp_rule(TableReader& r) {
  model::TcpRule rule;
  rule.loc = r.loc();
  r.get("name", rule.name);
  r.each_table("match", r.ctx().limits.max_matches_per_rule, "max_matches_per_rule", [&](TableReader& mr) {
    model::TcpMatch m;
    m.loc = mr.loc();
    mr.get_port("port", m.port);
    decode_cidrs(mr, "destination_subnets", m.destination_subnets);
    mr.get_labels("source_labels", m.source_labels);
    mr.get("source_namespace", m.source_namespace);
    mr.finish();
    rule.match.push_back(std::move(m));
  });
  if (r.require("to")) decode_destinations(r, rule.to);
  r.finish();
  return rule;
}

template <class Rule, class Fn>
void decode_rules(TableReader& r, std::string_view key, std::vector<Rule>& out, Fn decode_one) {
  const Limits& limits = r.ctx().limits;
  const toml::array* rules = r.table_array(key, limits.max_rules_per_resource, "max_rules_per_resource");
  if (!rules) return;
  r.ctx().rules += rules->size();
  if (r.ctx().rules > limits.max_total_rules) {
    r.error_at(*rules, key, fmt::format("the set has more than max_total_rules = {} rules", limits.max_total_rules));
    return;
  }
  for (const toml::node& n : *rules) {
    TableReader rr(r.ctx(), *n.as_table(), r.sub(key));
    out.push_back(decode_one(rr));
  }
}

}  // namespace

model::Route decode_route(TableReader& r) {
  model::Route route;
  decode_meta(r, route.meta);
  if (r.require("hosts") && r.get_located_strings("hosts", route.hosts)) {
    for (auto& h : route.hosts) check_host(r, "hosts", h, true);
    if (route.hosts.empty()) r.error_at(*r.take("hosts"), "hosts", "at least one host is required");
  }
  r.get_located_strings("gateways", route.gateways);
  decode_rules(r, "http", route.http, decode_http_rule);
  decode_rules(r, "tcp", route.tcp, decode_tcp_rule);
  if (const toml::table* t = r.table("retry_budget")) {
    TableReader br(r.ctx(), *t, r.sub("retry_budget"));
    model::RetryBudget b;
    b.loc = br.loc();
    br.get("ratio", b.ratio, 0, 1000);
    br.get_u32("min_per_second", b.min_per_second, 0, 1000000);
    if (br.get_duration("ttl", b.ttl) && (b.ttl < std::chrono::seconds(1) || b.ttl > std::chrono::seconds(60))) {
      br.error_at(*br.take("ttl"), "ttl", "must be between 1s and 60s (Linkerd's bounds)");
    }
    br.finish();
    route.retry_budget = b;
  }
  r.finish();
  if (!r.contains("http") && !r.contains("tcp") && !r.ctx().diags.full()) {
    r.ctx().diags.error(route.meta.loc, fmt::format("{}: a route needs at least one [[route.http]] or [[route.tcp]] rule", r.path()));
  }
  return route;
}

}  // namespace mesh::policy::toml_codec
