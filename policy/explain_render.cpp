// Renders an Explanation for people (aligned text) and for programs (JSON).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/base/strings.hpp"
#include "policy/explain.hpp"

namespace mesh::policy {
namespace {

using json = nlohmann::ordered_json;  // keeps keys in the order written

std::string retry_text(const RetryPolicy& r) {
  if (r.attempts == 0) return "no retries";
  std::vector<std::string> on;
  for (std::string_view name : retry_on_names(r.on)) on.emplace_back(name);
  for (uint16_t code : r.status_codes) on.push_back(std::to_string(code));
  std::string out = fmt::format("{} retries", r.attempts);
  if (r.per_try_timeout.count()) out += fmt::format(" of {} each", base::format_duration(r.per_try_timeout));
  out += fmt::format(" on {}", fmt::join(on, ","));
  if (r.istio_default) out += " (Istio's default)";
  return out;
}

std::string source_text(const Explanation& e) {
  std::string who = e.source_identity.empty() ? "plaintext (no identity)" : e.source_identity;
  if (e.source) who += fmt::format(" (workload {})", e.source->id);
  if (!e.source_ip.is_unspecified()) who += fmt::format(" from {}", e.source_ip.to_string());
  if (!e.client.empty()) who += fmt::format(", forwarding for client {}", e.client);
  return who;
}

std::string destination_text(const Explanation& e) {
  std::string kind = e.gateway ? fmt::format("through gateway {}", e.gateway->id)
                     : e.workload ? fmt::format("workload {}", e.workload->id)
                     : e.service ? fmt::format("service {}", e.service->id)
                                 : fmt::format("external {}", e.external->id);
  return fmt::format("{}:{} ({}, protocol {})", e.host, e.port, kind, model::to_string(e.protocol));
}

std::string rule_where(const CompiledPolicy& p, const Explanation& e) {
  if (e.http_rule) {
    return fmt::format("http rule {}{} of route {} ({})", e.http_rule->index,
                       e.http_rule->name.empty() ? "" : fmt::format(" '{}'", e.http_rule->name), e.route->id,
                       p.where(e.http_rule->spec->loc));
  }
  return fmt::format("tcp rule {}{} of route {} ({})", e.tcp_rule->index,
                     e.tcp_rule->name.empty() ? "" : fmt::format(" '{}'", e.tcp_rule->name), e.route->id,
                     p.where(e.tcp_rule->spec->loc));
}

std::string percent(Fraction f) { return fmt::format("{:g}%", f.per_million / 10000.0); }

std::string header_ops_text(const HeaderOps& ops) {
  std::vector<std::string> parts;
  if (!ops.remove.empty()) parts.push_back(fmt::format("remove {}", fmt::join(ops.remove, ", ")));
  for (const auto& h : ops.set) parts.push_back(fmt::format("set {}: {}", h.name, h.value));
  for (const auto& h : ops.add) parts.push_back(fmt::format("add {}: {}", h.name, h.value));
  return fmt::format("{}", fmt::join(parts, "; "));
}

std::string mirror_text(const Mirror& m) {
  std::string out = fmt::format("mirror {} of requests to {}", percent(m.fraction), m.target.host);
  if (m.target.subset) out += fmt::format(" subset {}", m.target.subset->name);
  if (m.target.port) out += fmt::format(" port {}", m.target.port);
  return out + " (answers ignored)";
}

// One line per action the matched rule applies to this request, in the order the data path
// applies them (redirect or fault first, then rewrite, headers and mirror).
std::vector<std::string> action_lines(const Explanation& e) {
  std::vector<std::string> out;
  const RouteActions& a = e.http_rule->actions;
  if (a.redirect) out.push_back(fmt::format("redirect {} to {}", a.redirect->code, e.location));
  if (a.fault && a.fault->delay) {
    out.push_back(fmt::format("fault: delay {} for {} of requests", base::format_duration(a.fault->delay->delay),
                              percent(a.fault->delay->fraction)));
  }
  if (a.fault && a.fault->abort) {
    out.push_back(fmt::format("fault: abort with {} for {} of requests", a.fault->abort->http_status,
                              percent(a.fault->abort->fraction)));
  }
  if (a.path_rewrite.enabled()) out.push_back(fmt::format("rewrite path {} -> {}", e.path, e.forwarded_path));
  if (!a.authority_rewrite.empty()) out.push_back(fmt::format("rewrite authority -> {}", a.authority_rewrite));
  if (!a.request_headers.empty()) out.push_back("request headers: " + header_ops_text(a.request_headers));
  if (!a.response_headers.empty()) out.push_back("response headers: " + header_ops_text(a.response_headers));
  if (e.http_rule->mirror) out.push_back(mirror_text(*e.http_rule->mirror));
  return out;
}

json header_ops_json(const HeaderOps& ops) {
  json set = json::object(), add = json::object();
  for (const auto& h : ops.set) set[h.name] = h.value;
  for (const auto& h : ops.add) add[h.name] = h.value;
  return json{{"remove", ops.remove}, {"set", std::move(set)}, {"add", std::move(add)}};
}

json actions_json(const Explanation& e) {
  json j = json::object();
  const RouteActions& a = e.http_rule->actions;
  if (a.redirect) j["redirect"] = {{"code", a.redirect->code}, {"location", e.location}};
  if (a.fault && a.fault->delay) {
    j["fault_delay"] = {{"delay", base::format_duration(a.fault->delay->delay)},
                        {"percentage", a.fault->delay->fraction.per_million / 10000.0}};
  }
  if (a.fault && a.fault->abort) {
    j["fault_abort"] = {{"http_status", a.fault->abort->http_status},
                        {"percentage", a.fault->abort->fraction.per_million / 10000.0}};
  }
  if (a.path_rewrite.enabled()) {
    j["rewrite_path"] = {{a.path_rewrite.kind == PathRewrite::Kind::FullPath ? "full_path" : "prefix", a.path_rewrite.value},
                         {"path", e.forwarded_path}};
  }
  if (!a.authority_rewrite.empty()) j["rewrite_authority"] = a.authority_rewrite;
  if (!a.request_headers.empty()) j["request_headers"] = header_ops_json(a.request_headers);
  if (!a.response_headers.empty()) j["response_headers"] = header_ops_json(a.response_headers);
  if (const auto& m = e.http_rule->mirror) {
    j["mirror"] = {{"host", m->target.host}, {"subset", m->target.subset ? json(m->target.subset->name) : json(nullptr)},
                   {"port", m->target.port}, {"percentage", m->fraction.per_million / 10000.0},
                   {"cluster", cluster_key(m->target, e.port)}};
  }
  return j;
}

json rule_json(const CompiledPolicy& p, RuleRef r) {
  if (!r) return nullptr;
  return json{{"authorization", r.policy->id}, {"action", model::to_string(r.policy->action)},
              {"rule", r.rule}, {"location", p.where(r.policy->rules[r.rule].loc)}};
}

json mtls_json(const CompiledPolicy& p, const MtlsDecision& m) {
  json j{{"mode", model::to_string(m.mode)}};
  if (m.source) {
    j["peer_authentication"] = fmt::format("{}/{}", m.source->meta.ns, m.source->meta.name);
    j["location"] = p.where(m.source->meta.loc);
  }
  return j;
}

json route_json(const CompiledPolicy& p, const Explanation& e) {
  json r{{"outcome", to_string(e.outcome)}};
  if (e.route) r["route"] = e.route->id;
  if (e.http_rule || e.tcp_rule) {
    r["rule"] = e.http_rule ? e.http_rule->index : e.tcp_rule->index;
    r["rule_name"] = e.http_rule ? e.http_rule->name : e.tcp_rule->name;
    r["location"] = p.where(e.http_rule ? e.http_rule->spec->loc : e.tcp_rule->spec->loc);
  }
  if (e.http) {
    const RouteActions& a = e.http_rule ? e.http_rule->actions : default_route_actions();
    r["timeout"] = a.timeout.count() ? base::format_duration(a.timeout) : "none";
    r["retries"] = retry_text(a.retries);
    if (a.fault) r["fault"] = true;
    if (a.redirect) r["redirect"] = a.redirect->code;
    if (e.http_rule) r["actions"] = actions_json(e);
  }
  return r;
}

}  // namespace

std::string to_text(const CompiledPolicy& p, const Explanation& e) {
  std::string out;
  auto line = [&](std::string_view label, const std::string& text) { out += fmt::format("{:<12} {}\n", label, text); };
  line("source", source_text(e));
  line("destination", destination_text(e));
  if (e.http) {
    std::string req = fmt::format("{} {}", e.method, e.path);
    for (const auto& [k, v] : e.headers) req += fmt::format(" {}: {}", k, v);
    line("request", req);
  }
  if (e.server && e.server->tls && e.server->tls->https_redirect) line("gateway", "redirects to HTTPS (https_redirect)");
  if (e.workload) line("route", "none (a workload addressed directly)");
  else if (e.outcome == RouteOutcome::Default) line("route", "default: no route for this host, straight to it");
  else if (e.outcome == RouteOutcome::NoMatch && !e.route) line("route", "no route for this host on the gateway (404)");
  else if (e.outcome == RouteOutcome::NoMatch) line("route", fmt::format("no rule of route {} matches (404)", e.route->id));
  else line("route", rule_where(p, e));
  if (e.http && e.http_rule) {
    const RouteActions& a = e.http_rule->actions;
    if (!a.redirect) {
      std::string t = a.timeout.count() ? base::format_duration(a.timeout) : "none";
      line("", fmt::format("timeout {}; {}", t, retry_text(a.retries)));
    }
    for (const std::string& action : action_lines(e)) line("", action);
  }
  for (const auto& t : e.targets) {
    std::string head = fmt::format("-> {}", t.host);
    if (t.subset) head += fmt::format(" subset {}", t.subset->name);
    if (t.port) head += fmt::format(" port {}", t.port);
    head += fmt::format(", weight {}", t.weight);
    if (!t.mesh) head += " (outside the mesh: no workload authorization)";
    else head += fmt::format(", {} of {} endpoints allowed", t.endpoints_allowed, t.endpoints_total);
    line("", head);
    for (const auto& ep : t.endpoints) {
      std::string addr = ep.workload->addresses.empty() ? "-" : ep.workload->addresses.front().to_string();
      line("", fmt::format("   {} ({}:{}): {}", ep.workload->id, addr, ep.port, describe(p, ep.decision)));
      line("", fmt::format("   mtls {}", model::to_string(ep.decision.mtls.mode)));
    }
    if (t.endpoints.size() < t.endpoints_total) line("", fmt::format("   ... {} more", t.endpoints_total - t.endpoints.size()));
  }
  line("decision", e.decision);
  return out;
}

std::string to_json(const CompiledPolicy& p, const Explanation& e) {
  json j;
  j["source"] = {{"identity", e.source_identity}, {"workload", e.source ? json(e.source->id) : json(nullptr)},
                 {"ip", e.source_ip.to_string()}};
  if (!e.client.empty()) j["source"]["client"] = e.client;
  j["destination"] = {{"host", e.host}, {"port", e.port}, {"protocol", model::to_string(e.protocol)},
                      {"kind", e.gateway ? "gateway" : e.workload ? "workload" : e.service ? "service" : "external"}};
  if (e.gateway) j["destination"]["gateway"] = e.gateway->id;
  j["request"] = e.http ? json{{"method", e.method}, {"path", e.path}, {"headers", e.headers}} : json(nullptr);
  j["route"] = route_json(p, e);
  j["targets"] = json::array();
  for (const auto& t : e.targets) {
    json tj{{"host", t.host}, {"subset", t.subset ? json(t.subset->name) : json(nullptr)}, {"port", t.port},
            {"weight", t.weight}, {"cluster", t.cluster}, {"mesh", t.mesh}, {"endpoints_total", t.endpoints_total},
            {"endpoints_allowed", t.endpoints_allowed}, {"endpoints", json::array()}};
    for (const auto& ep : t.endpoints) {
      tj["endpoints"].push_back({{"workload", ep.workload->id}, {"port", ep.port},
                                 {"verdict", to_string(ep.decision.verdict)}, {"reason", to_string(ep.decision.reason)},
                                 {"rule", rule_json(p, ep.decision.rule)}, {"audit", rule_json(p, ep.decision.audit)},
                                 {"mtls", mtls_json(p, ep.decision.mtls)}});
    }
    j["targets"].push_back(std::move(tj));
  }
  j["decision"] = e.decision;
  // Names and headers come from the query and may be any bytes: invalid UTF-8 becomes U+FFFD
  // instead of an exception.
  return j.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace mesh::policy
