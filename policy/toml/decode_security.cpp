// Decoders for [[authorization]] (≈ Istio AuthorizationPolicy) and [[peer_authentication]]
// (≈ PeerAuthentication). Values are checked for syntax here: principals, wildcards, CIDRs,
// ports and the supported `when` keys.
#include <array>
#include <charconv>

#include <fmt/format.h>

#include "daemon/base/strings.hpp"
#include "policy/names.hpp"
#include "policy/toml/decode.hpp"

namespace mesh::policy::toml_codec {
namespace {

using model::AuthzAction;

// Istio's string form: exact, "prefix*", "*suffix", or "*" (any, but present).
std::optional<std::string> wildcard_problem(std::string_view v) {
  if (v.empty()) return "an empty value never matches; remove it";
  size_t star = v.find('*');
  if (star == std::string_view::npos || v == "*") return std::nullopt;
  if ((star == 0 && v.find('*', 1) == std::string_view::npos) || star == v.size() - 1) return std::nullopt;
  return fmt::format("'{}': '*' may appear only at the start or the end of a value", v);
}

std::optional<std::string> principal_problem(std::string_view v) {
  if (v.starts_with("spiffe://")) {
    return fmt::format("principals are written without the spiffe:// scheme: use '{}'", v.substr(9));
  }
  if (auto p = wildcard_problem(v)) return p;
  if (v.find('*') != std::string_view::npos) return std::nullopt;
  // <trust-domain>/ns/<namespace>/sa/<service-account>
  std::array<std::string_view, 5> parts;
  size_t start = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    size_t slash = v.find('/', start);
    bool last = i + 1 == parts.size();
    if ((slash == std::string_view::npos) != last) break;
    parts[i] = v.substr(start, last ? std::string_view::npos : slash - start);
    start = slash + 1;
    if (last && !parts[0].empty() && parts[1] == "ns" && !parts[2].empty() && parts[3] == "sa" && !parts[4].empty()) {
      return std::nullopt;
    }
  }
  return fmt::format("principal '{}' is not of the form <trust-domain>/ns/<namespace>/sa/<service-account>", v);
}

std::optional<std::string> path_problem(std::string_view v) {
  if (v.find('{') != std::string_view::npos) return fmt::format("'{}': path templates ({{*}}, {{**}}) are not supported", v);
  if (auto p = wildcard_problem(v)) return p;
  if (!v.starts_with('/') && !v.starts_with('*')) return fmt::format("path '{}' must start with '/'", v);
  return std::nullopt;
}

std::optional<std::string> cidr_problem(std::string_view v) {
  if (base::Cidr::parse(v)) return std::nullopt;
  return fmt::format("invalid CIDR or IP address '{}'", v);
}

std::optional<std::string> port_problem(std::string_view v) {
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), p);
  if (ec == std::errc() && ptr == v.data() + v.size() && p >= 1 && p <= 65535) return std::nullopt;
  return fmt::format("'{}' is not a port number (1-65535)", v);
}

using Check = std::optional<std::string> (*)(std::string_view);

// Reads a list of strings, checking each with `check`; lowercases when asked (hosts).
void strings(TableReader& r, std::string_view key, std::vector<std::string>& out, Check check, bool lower = false) {
  std::vector<model::Located<std::string>> items;
  if (!r.get_located_strings(key, items)) return;
  for (auto& item : items) {
    if (lower) {
      for (char& c : item.value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (auto problem = check(item.value)) {
      r.ctx().diags.error(item.loc, fmt::format("{}: {}", r.sub(key), *problem));
    } else {
      out.push_back(std::move(item.value));
    }
  }
}

void ports(TableReader& r, std::string_view key, std::vector<uint16_t>& out) {
  const toml::node* n = r.take(key);
  const toml::array* a = n ? n->as_array() : nullptr;
  if (n && !a) r.error_at(*n, key, fmt::format("expected an array of ports, found {}", type_name(*n)));
  if (!a) return;
  for (const toml::node& item : *a) {
    int64_t v = 0;
    if (const auto* i = item.as_integer()) v = i->get();
    else if (const auto* s = item.as_string(); s && !port_problem(s->get())) v = std::stoll(s->get());
    if (v < 1 || v > 65535) r.error_at(item, key, "expected a port number (1-65535)");
    else out.push_back(static_cast<uint16_t>(v));
  }
}

// Istio fields that need features meshd does not have: named so the error says why.
void unsupported(TableReader& r, std::initializer_list<std::pair<std::string_view, std::string_view>> keys) {
  for (auto [key, why] : keys) {
    if (const toml::node* n = r.take(key)) r.error_at(*n, key, fmt::format("not supported: {}", why));
  }
}

model::AuthzSource decode_source(TableReader& r) {
  model::AuthzSource s;
  s.loc = r.loc();
  strings(r, "principals", s.principals, principal_problem);
  strings(r, "not_principals", s.not_principals, principal_problem);
  strings(r, "namespaces", s.namespaces, wildcard_problem);
  strings(r, "not_namespaces", s.not_namespaces, wildcard_problem);
  decode_cidrs(r, "ip_blocks", s.ip_blocks);
  decode_cidrs(r, "not_ip_blocks", s.not_ip_blocks);
  constexpr std::string_view kJwt = "request principals come from JWT authentication, which meshd does not implement";
  constexpr std::string_view kRemote = "remote IPs come from X-Forwarded-For; meshd matches the peer address with ip_blocks";
  unsupported(r, {{"request_principals", kJwt}, {"not_request_principals", kJwt},
                  {"remote_ip_blocks", kRemote}, {"not_remote_ip_blocks", kRemote}});
  r.finish();
  return s;
}

model::AuthzOperation decode_operation(TableReader& r) {
  model::AuthzOperation o;
  o.loc = r.loc();
  strings(r, "hosts", o.hosts, wildcard_problem, true);
  strings(r, "not_hosts", o.not_hosts, wildcard_problem, true);
  ports(r, "ports", o.ports);
  ports(r, "not_ports", o.not_ports);
  strings(r, "methods", o.methods, wildcard_problem);
  strings(r, "not_methods", o.not_methods, wildcard_problem);
  strings(r, "paths", o.paths, path_problem);
  strings(r, "not_paths", o.not_paths, path_problem);
  r.finish();
  return o;
}

constexpr std::array<std::string_view, 6> kConditionKeys{
    "source.ip", "source.namespace", "source.principal", "destination.ip", "destination.port", "request.headers[<name>]"};

Check condition_check(std::string_view key) {
  if (key == "source.ip" || key == "destination.ip") return cidr_problem;
  if (key == "destination.port") return port_problem;
  if (key == "source.principal") return principal_problem;
  if (key == "source.namespace") return wildcard_problem;
  if (key.starts_with("request.headers[") && key.ends_with("]") && key.size() > 17) return wildcard_problem;
  return nullptr;
}

model::AuthzCondition decode_condition(TableReader& r) {
  model::AuthzCondition c;
  c.loc = r.loc();
  Check check = nullptr;
  if (r.require("key") && r.get("key", c.key) && !(check = condition_check(c.key))) {
    std::string msg = fmt::format("unsupported condition key '{}'", c.key);
    if (c.key.starts_with("request.auth.")) msg += " (JWT claims need request authentication, which meshd does not implement)";
    else if (auto near = base::closest_match(c.key, kConditionKeys)) msg += fmt::format("; did you mean '{}'?", *near);
    else msg += fmt::format("; supported: {}", fmt::join(kConditionKeys, ", "));
    r.error_at(*r.take("key"), "key", msg);
  }
  if (check) {
    strings(r, "values", c.values, check);
    strings(r, "not_values", c.not_values, check);
  } else {
    r.take("values");
    r.take("not_values");
  }
  r.finish();
  if (check && !r.contains("values") && !r.contains("not_values") && !r.ctx().diags.full()) {
    r.ctx().diags.error(c.loc, fmt::format("{}: needs values or not_values", r.path()));
  }
  return c;
}

template <class T>
void decode_list(TableReader& r, std::string_view key, std::vector<T>& out, T (*one)(TableReader&)) {
  r.each_table(key, r.ctx().limits.max_matches_per_rule, "max_matches_per_rule",
               [&](TableReader& sub) { out.push_back(one(sub)); });
}

}  // namespace

model::Authorization decode_authorization(TableReader& r) {
  model::Authorization a;
  decode_meta(r, a.meta);
  model::Labels selector;
  if (r.get_labels("selector", selector)) a.selector = std::move(selector);
  static constexpr std::array<EnumName<AuthzAction>, 3> kActions{{
      {"allow", AuthzAction::Allow}, {"deny", AuthzAction::Deny}, {"audit", AuthzAction::Audit}}};
  if (const toml::node* n = r.take("action"); n && n->is_string() && iequals(n->as_string()->get(), "custom")) {
    r.error_at(*n, "action", "not supported: CUSTOM (external authorization) has no equivalent in meshd");
  } else {
    r.get_enum<AuthzAction>("action", a.action, kActions);
  }
  r.get("dry_run", a.dry_run);
  unsupported(r, {{"provider", "CUSTOM (external authorization) has no equivalent in meshd"}});
  const Limits& limits = r.ctx().limits;
  if (const toml::array* rules = r.table_array("rules", limits.max_rules_per_resource, "max_rules_per_resource")) {
    r.ctx().rules += rules->size();
    if (r.ctx().rules > limits.max_total_rules) {
      r.error_at(*rules, "rules", fmt::format("the set has more than max_total_rules = {} rules", limits.max_total_rules));
    } else {
      for (const toml::node& n : *rules) {
        TableReader rr(r.ctx(), *n.as_table(), r.sub("rules"));
        model::AuthzRule rule;
        rule.loc = rr.loc();
        decode_list(rr, "from", rule.from, decode_source);
        decode_list(rr, "to", rule.to, decode_operation);
        decode_list(rr, "when", rule.when, decode_condition);
        rr.finish();
        a.rules.push_back(std::move(rule));
      }
    }
  }
  r.finish();
  return a;
}

model::PeerAuthentication decode_peer_authentication(TableReader& r) {
  using model::MtlsMode;
  model::PeerAuthentication p;
  decode_meta(r, p.meta);
  model::Labels selector;
  if (r.get_labels("selector", selector)) p.selector = std::move(selector);
  static constexpr std::array<EnumName<MtlsMode>, 4> kModes{{{"unset", MtlsMode::Unset}, {"disable", MtlsMode::Disable},
      {"permissive", MtlsMode::Permissive}, {"strict", MtlsMode::Strict}}};
  r.get_enum<MtlsMode>("mode", p.mode, kModes);
  if (const toml::table* ports = r.table("port_level_mtls")) {
    p.port_level_loc = r.ctx().loc(*ports);
    TableReader pr(r.ctx(), *ports, r.sub("port_level_mtls"));
    for (auto&& [k, v] : *ports) {
      std::string key(k.str());
      if (auto problem = port_problem(key)) {
        r.ctx().diags.error(r.ctx().loc(k.source()), fmt::format("{}: {}", pr.path(), *problem));
        pr.take(k.str());
        continue;
      }
      MtlsMode mode = MtlsMode::Unset;
      if (pr.get_enum<MtlsMode>(k.str(), mode, kModes)) p.port_level_mtls.emplace_back(static_cast<uint16_t>(std::stoi(key)), mode);
    }
    pr.finish();
    if (!p.selector && !p.port_level_mtls.empty()) {
      r.ctx().diags.error(p.port_level_loc, fmt::format("{}: port_level_mtls needs a selector (as in Istio)", r.path()));
    }
  }
  r.finish();
  return p;
}

}  // namespace mesh::policy::toml_codec
