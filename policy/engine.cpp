// Authorization with Istio's semantics. The precedence table, mirrored by the table-driven
// test in tests/policy/engine_test.cpp:
//
//   step | condition                                                    | verdict (reason)
//   -----+--------------------------------------------------------------+----------------------------
//    0   | peer auth of the port is STRICT and the peer has no identity | DENY  (MtlsRequired)
//    1   | destination is not a workload of the policy                  | ALLOW (NotAWorkload)
//    2   | any enforced DENY rule matches                               | DENY  (DenyMatched)
//    3   | any AUDIT rule matches                                       | (recorded in `audit` only)
//    4   | no enforced ALLOW policy applies to the workload             | ALLOW (NoAllowPolicy)
//    5   | any enforced ALLOW rule matches                              | ALLOW (AllowMatched)
//    6   | otherwise                                                    | DENY  (NoAllowMatched)
//
// Policies that apply to a workload: those in the root namespace without a selector (mesh),
// those in its namespace without a selector, and those whose selector picks it (a selector
// in the root namespace picks in every namespace). CUSTOM is not supported. A policy without
// rules never matches (so an ALLOW without rules denies everything), a rule without from/to/
// when matches everything. dry_run policies are evaluated alone, by the same table, into
// `dry_run`, and never change the verdict.
//
// Rules that need HTTP attributes (hosts, methods, paths, request.headers) are "unknown" at
// connection time. On an opaque (TCP) connection an unknown ALLOW rule does not match and an
// unknown DENY or AUDIT rule matches (Istio drops the HTTP-only fields from a DENY rule,
// making it stricter). On an HTTP connection, a verdict that an unknown rule could still
// change is PerRequest (DependsOnRequest); authorize_request then decides each request.
#include "policy/engine.hpp"

#include <array>

#include <fmt/format.h>

#include "policy/names.hpp"

namespace mesh::policy {
namespace {

enum class Tri : uint8_t { False, True, Unknown };

// The attributes of one evaluation, parsed once; the request's host only when a rule asks.
class Ctx {
 public:
  Ctx(const ConnectionAttrs& c, const RequestAttrs* r) : conn(c), req(r) {
    std::string_view id = c.source_identity;
    if (id.starts_with("spiffe://")) id.remove_prefix(9);
    principal = id;
  }

  // The namespace in the peer identity ("" without one).
  std::string_view ns() const {
    if (!ns_ready_) {
      if (size_t at = principal.find("/ns/"); at != std::string_view::npos) {
        std::string_view rest = principal.substr(at + 4);
        ns_ = rest.substr(0, rest.find('/'));
      }
      ns_ready_ = true;
    }
    return ns_;
  }

  // The request path without the query string.
  std::string_view path() const { return req->path.substr(0, req->path.find('?')); }

  // The authority without its port, lowercase (hosts in rules are lowercase).
  std::string_view host() const {
    if (host_ready_) return host_;
    std::string_view h = req->authority;
    if (!h.empty() && h.front() == '[') h = h.substr(0, h.find(']') + 1);  // [v6]:port
    else h = h.substr(0, h.find(':'));
    size_t n = std::min(h.size(), sizeof(host_buf_));
    for (size_t i = 0; i < n; ++i) {
      char ch = h[i];
      host_buf_[i] = ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch;
    }
    host_ = std::string_view(host_buf_, n);
    host_ready_ = true;
    return host_;
  }

  const ConnectionAttrs& conn;
  const RequestAttrs* req;     // null at connection time
  std::string_view principal;  // the peer identity without "spiffe://"

 private:
  mutable bool ns_ready_ = false;
  mutable std::string_view ns_;
  mutable bool host_ready_ = false;
  mutable std::string_view host_;
  mutable char host_buf_[256];  // not zeroed: written before it is read
};

bool any(const std::vector<ValueMatcher>& ms, std::string_view s) {
  for (const auto& m : ms)
    if (m.matches(s)) return true;
  return false;
}

bool any(const std::vector<CidrMatcher>& cs, const base::IpAddr& ip) {
  for (const auto& c : cs)
    if (c.contains(ip)) return true;
  return false;
}

bool any(const std::vector<uint16_t>& ps, uint16_t port) {
  for (uint16_t p : ps)
    if (p == port) return true;
  return false;
}

// values (if any) must match, not_values must not.
template <class V, class A>
bool allowed(const std::vector<V>& values, const std::vector<V>& not_values, const A& attr) {
  return (values.empty() || any(values, attr)) && !any(not_values, attr);
}

const std::string_view* find_header(std::span<const Header> headers, std::string_view name, std::string_view& out) {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) {
      out = h.value;
      return &out;
    }
  }
  return nullptr;
}

bool source_matches(const SourceMatcher& s, const Ctx& c) {
  if ((s.fields & kFieldPrincipals) && !allowed(s.principals, s.not_principals, c.principal)) return false;
  if ((s.fields & kFieldNamespaces) && !allowed(s.namespaces, s.not_namespaces, c.ns())) return false;
  return !(s.fields & kFieldIpBlocks) || allowed(s.ip_blocks, s.not_ip_blocks, c.conn.source_ip);
}

Tri operation_matches(const OperationMatcher& o, const Ctx& c) {
  if ((o.fields & kFieldPorts) && !allowed(o.ports, o.not_ports, c.conn.destination_port)) return Tri::False;
  if (!o.l7) return Tri::True;
  if (!c.req) return Tri::Unknown;
  if ((o.fields & kFieldMethods) && !allowed(o.methods, o.not_methods, c.req->method)) return Tri::False;
  if ((o.fields & kFieldPaths) && !allowed(o.paths, o.not_paths, c.path())) return Tri::False;
  if ((o.fields & kFieldHosts) && !allowed(o.hosts, o.not_hosts, c.host())) return Tri::False;
  return Tri::True;
}

Tri condition_matches(const ConditionMatcher& m, const Ctx& c) {
  using A = ConditionMatcher::Attribute;
  switch (m.attribute) {
    case A::SourceIp: return allowed(m.cidrs, m.not_cidrs, c.conn.source_ip) ? Tri::True : Tri::False;
    case A::DestinationIp: return allowed(m.cidrs, m.not_cidrs, c.conn.destination_ip) ? Tri::True : Tri::False;
    case A::DestinationPort: return allowed(m.ports, m.not_ports, c.conn.destination_port) ? Tri::True : Tri::False;
    case A::SourceNamespace: return allowed(m.values, m.not_values, c.ns()) ? Tri::True : Tri::False;
    case A::SourcePrincipal: return allowed(m.values, m.not_values, c.principal) ? Tri::True : Tri::False;
    case A::RequestHeader: {
      if (!c.req) return Tri::Unknown;
      std::string_view value;
      if (!find_header(c.req->headers, m.header, value)) return m.values.empty() ? Tri::True : Tri::False;
      return allowed(m.values, m.not_values, value) ? Tri::True : Tri::False;
    }
  }
  return Tri::False;
}

Tri rule_matches(const AuthzRule& r, const Ctx& c) {
  if (!r.from.empty()) {
    bool from = false;
    for (const auto& s : r.from) from = from || source_matches(s, c);
    if (!from) return Tri::False;
  }
  Tri result = Tri::True;
  if (!r.to.empty()) {
    Tri to = Tri::False;
    for (const auto& o : r.to) {
      Tri t = operation_matches(o, c);
      if (t == Tri::True) {
        to = Tri::True;
        break;
      }
      if (t == Tri::Unknown) to = Tri::Unknown;
    }
    if (to == Tri::False) return Tri::False;
    result = to;
  }
  for (const auto& w : r.when) {
    Tri t = condition_matches(w, c);
    if (t == Tri::False) return Tri::False;
    if (t == Tri::Unknown) result = Tri::Unknown;
  }
  return result;
}

// The first rule of `p` that matches (True), else Unknown if one might, else False.
Tri policy_matches(const Authorization& p, const Ctx& c, uint32_t& rule) {
  Tri result = Tri::False;
  for (uint32_t i = 0; i < p.rules.size(); ++i) {
    Tri t = rule_matches(p.rules[i], c);
    if (t == Tri::True) {
      rule = i;
      return Tri::True;
    }
    if (t == Tri::Unknown && result == Tri::False) {
      result = Tri::Unknown;
      rule = i;
    }
  }
  return result;
}

using Scopes = std::array<const AuthzScope*, 3>;
using ListOf = const std::vector<const Authorization*> AuthzScope::*;

struct Scan {
  Tri found = Tri::False;
  RuleRef ref;
};

// Keeps every policy of a list, or only those of one action (the dry-run list mixes them).
struct AnyAction {
  bool operator()(const Authorization*) const { return true; }
};
template <model::AuthzAction A>
struct OnlyAction {
  bool operator()(const Authorization* p) const { return p->action == A; }
};

// Scans one action's lists over the three scopes. `unknown_as` resolves rules that need
// HTTP on an opaque connection (Unknown stays Unknown on HTTP connections).
template <class Keep>
Scan scan(const Scopes& scopes, ListOf list, const Ctx& c, Tri unknown_as, Keep keep) {
  Scan s;
  for (const AuthzScope* scope : scopes) {
    for (const Authorization* p : scope->*list) {
      if (!keep(p)) continue;
      uint32_t rule = 0;
      Tri t = policy_matches(*p, c, rule);
      if (t == Tri::Unknown) t = unknown_as;
      if (t == Tri::True) return Scan{Tri::True, RuleRef{p, rule}};
      if (t == Tri::Unknown && s.found == Tri::False) s = Scan{Tri::Unknown, RuleRef{p, rule}};
    }
  }
  return s;
}

template <class Keep>
bool any_policy(const Scopes& scopes, ListOf list, Keep keep) {
  for (const AuthzScope* scope : scopes)
    for (const Authorization* p : scope->*list)
      if (keep(p)) return true;
  return false;
}

struct Outcome {
  Verdict verdict;
  Reason reason;
  RuleRef rule;
};

// Steps 2 and 4-6 of the table over one family of lists: the enforced DENY and ALLOW lists,
// or the dry-run list filtered by action.
template <class KeepDeny, class KeepAllow>
Outcome decide(const Scopes& scopes, const Ctx& c, Transport transport, ListOf deny_list, ListOf allow_list,
               KeepDeny keep_deny, KeepAllow keep_allow) {
  const bool opaque = !c.req && transport == Transport::Opaque;
  Scan deny = scan(scopes, deny_list, c, opaque ? Tri::True : Tri::Unknown, keep_deny);
  if (deny.found == Tri::True) return {Verdict::Deny, Reason::DenyMatched, deny.ref};
  const bool deny_pending = deny.found == Tri::Unknown;
  if (!any_policy(scopes, allow_list, keep_allow)) {
    if (deny_pending) return {Verdict::PerRequest, Reason::DependsOnRequest, deny.ref};
    return {Verdict::Allow, Reason::NoAllowPolicy, {}};
  }
  Scan allow = scan(scopes, allow_list, c, opaque ? Tri::False : Tri::Unknown, keep_allow);
  if (allow.found == Tri::True) {
    if (deny_pending) return {Verdict::PerRequest, Reason::DependsOnRequest, deny.ref};
    return {Verdict::Allow, Reason::AllowMatched, allow.ref};
  }
  if (allow.found == Tri::Unknown) return {Verdict::PerRequest, Reason::DependsOnRequest, allow.ref};
  return {Verdict::Deny, Reason::NoAllowMatched, {}};
}

AuthzDecision evaluate(const CompiledPolicy& policy, const ConnectionAttrs& conn, const RequestAttrs* req,
                       Transport transport) {
  AuthzDecision d;
  d.mtls = policy.peer_authentications().lookup(conn.destination, conn.destination_port);
  if (d.mtls.mode == model::MtlsMode::Strict && conn.source_identity.empty()) {
    d.verdict = Verdict::Deny;
    d.reason = Reason::MtlsRequired;
    return d;
  }
  if (!conn.destination) {
    d.reason = Reason::NotAWorkload;
    return d;
  }
  const uint8_t lists = policy.authorizations().lists_for(*conn.destination);
  if (lists == 0) return d;  // no policy applies: allow (NoAllowPolicy)
  const Ctx c(conn, req);
  const Scopes scopes = policy.authorizations().for_workload(*conn.destination);
  Outcome o = decide(scopes, c, transport, &AuthzScope::deny, &AuthzScope::allow, AnyAction{}, AnyAction{});
  d.verdict = o.verdict;
  d.reason = o.reason;
  d.rule = o.rule;
  const bool opaque = !req && transport == Transport::Opaque;
  if (lists & kListAudit) {
    Scan audit = scan(scopes, &AuthzScope::audit, c, opaque ? Tri::True : Tri::Unknown, AnyAction{});
    if (audit.found == Tri::True) d.audit = audit.ref;
  }
  if (lists & kListDryRun) {
    Outcome dry = decide(scopes, c, transport, &AuthzScope::dry_run, &AuthzScope::dry_run,
                         OnlyAction<model::AuthzAction::Deny>{}, OnlyAction<model::AuthzAction::Allow>{});
    d.dry_run = {true, dry.verdict, dry.rule};
  }
  return d;
}

std::string rule_text(const CompiledPolicy& policy, RuleRef r) {
  return fmt::format("rule {} of {} authorization '{}' ({})", r.rule, model::to_string(r.policy->action), r.policy->id,
                     policy.where(r.policy->rules[r.rule].loc));
}

}  // namespace

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::Allow: return "allow";
    case Verdict::Deny: return "deny";
    case Verdict::PerRequest: return "per-request";
  }
  return "?";
}

std::string_view to_string(Reason r) {
  switch (r) {
    case Reason::NoAllowPolicy: return "no ALLOW policy applies";
    case Reason::AllowMatched: return "an ALLOW rule matched";
    case Reason::DenyMatched: return "a DENY rule matched";
    case Reason::NoAllowMatched: return "ALLOW policies apply but none matched";
    case Reason::MtlsRequired: return "mTLS is required (STRICT) and the connection is plaintext";
    case Reason::NotAWorkload: return "the destination is not a workload of the policy";
    case Reason::DependsOnRequest: return "the decision depends on each HTTP request";
  }
  return "?";
}

AuthzDecision authorize_connection(const CompiledPolicy& policy, const ConnectionAttrs& conn, Transport transport) {
  return evaluate(policy, conn, nullptr, transport);
}

AuthzDecision authorize_request(const CompiledPolicy& policy, const ConnectionAttrs& conn, const RequestAttrs& req) {
  return evaluate(policy, conn, &req, Transport::Http);
}

MtlsDecision peer_authentication(const CompiledPolicy& policy, const Workload* destination, uint16_t port) {
  return policy.peer_authentications().lookup(destination, port);
}

std::string describe(const CompiledPolicy& policy, const AuthzDecision& d) {
  std::string out = fmt::format("{}: {}", to_string(d.verdict), to_string(d.reason));
  if (d.rule) out += fmt::format(" ({})", rule_text(policy, d.rule));
  if (d.reason == Reason::MtlsRequired && d.mtls.source) {
    out += fmt::format(" (peer_authentication '{}/{}' at {})", d.mtls.source->meta.ns, d.mtls.source->meta.name,
                       policy.where(d.mtls.source->meta.loc));
  }
  if (d.audit) out += fmt::format("; audited by {}", rule_text(policy, d.audit));
  if (d.dry_run.present) {
    out += fmt::format("; dry-run would {}", to_string(d.dry_run.verdict));
    if (d.dry_run.rule) out += fmt::format(" ({})", rule_text(policy, d.dry_run.rule));
  }
  return out;
}

}  // namespace mesh::policy
