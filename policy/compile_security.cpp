// Compile passes for [[authorization]] and [[peer_authentication]]: rules turned into
// matchers and placed in the scope they apply to (mesh, namespace, or each selected
// workload), and every workload's effective mTLS mode resolved from the narrowest policy.
#include <fmt/format.h>

#include "policy/compile_internal.hpp"

namespace mesh::policy::detail {
namespace {

std::vector<ValueMatcher> matchers(const std::vector<std::string>& values) {
  std::vector<ValueMatcher> out;
  out.reserve(values.size());
  for (const auto& v : values) out.push_back(ValueMatcher::parse(v));
  return out;
}

std::vector<CidrMatcher> cidrs(const std::vector<std::string>& values) {
  std::vector<CidrMatcher> out;
  for (const auto& v : values)
    if (auto c = base::Cidr::parse(v)) out.push_back(CidrMatcher::of(*c));
  return out;
}

std::vector<CidrMatcher> cidrs(const std::vector<base::Cidr>& values) {
  std::vector<CidrMatcher> out;
  for (const auto& c : values) out.push_back(CidrMatcher::of(c));
  return out;
}

std::vector<uint16_t> ports(const std::vector<std::string>& values) {
  std::vector<uint16_t> out;
  for (const auto& v : values) out.push_back(static_cast<uint16_t>(std::stoi(v)));
  return out;
}

ConditionMatcher condition(const model::AuthzCondition& c) {
  using A = ConditionMatcher::Attribute;
  ConditionMatcher m;
  if (c.key == "source.ip" || c.key == "destination.ip") {
    m.attribute = c.key == "source.ip" ? A::SourceIp : A::DestinationIp;
    m.cidrs = cidrs(c.values);
    m.not_cidrs = cidrs(c.not_values);
    return m;
  }
  if (c.key == "destination.port") {
    m.attribute = A::DestinationPort;
    m.ports = ports(c.values);
    m.not_ports = ports(c.not_values);
    return m;
  }
  if (c.key == "source.namespace") m.attribute = A::SourceNamespace;
  else if (c.key == "source.principal") m.attribute = A::SourcePrincipal;
  else {
    m.attribute = A::RequestHeader;
    m.header = c.key.substr(16, c.key.size() - 17);  // request.headers[<name>]
    for (char& ch : m.header) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    m.l7 = true;
  }
  m.values = matchers(c.values);
  m.not_values = matchers(c.not_values);
  return m;
}

}  // namespace

AuthzRule Compiler::authz_rule(const model::AuthzRule& spec) {
  AuthzRule r;
  r.loc = spec.loc;
  auto field = [](const auto& values, const auto& not_values, uint8_t bit) {
    return static_cast<uint8_t>(values.empty() && not_values.empty() ? 0 : bit);
  };
  for (const auto& s : spec.from) {
    SourceMatcher m{matchers(s.principals), matchers(s.not_principals), matchers(s.namespaces),
                    matchers(s.not_namespaces), cidrs(s.ip_blocks), cidrs(s.not_ip_blocks), 0};
    m.fields = field(s.principals, s.not_principals, kFieldPrincipals) |
               field(s.namespaces, s.not_namespaces, kFieldNamespaces) |
               field(s.ip_blocks, s.not_ip_blocks, kFieldIpBlocks);
    r.from.push_back(std::move(m));
  }
  for (const auto& o : spec.to) {
    OperationMatcher m{matchers(o.hosts), matchers(o.not_hosts), o.ports, o.not_ports, matchers(o.methods),
                       matchers(o.not_methods), matchers(o.paths), matchers(o.not_paths), false, 0};
    m.fields = field(o.ports, o.not_ports, kFieldPorts) | field(o.hosts, o.not_hosts, kFieldHosts) |
               field(o.methods, o.not_methods, kFieldMethods) | field(o.paths, o.not_paths, kFieldPaths);
    m.l7 = (m.fields & (kFieldHosts | kFieldMethods | kFieldPaths)) != 0;
    r.l7 = r.l7 || m.l7;
    r.to.push_back(std::move(m));
  }
  for (const auto& c : spec.when) {
    r.when.push_back(condition(c));
    r.l7 = r.l7 || r.when.back().l7;
  }
  return r;
}

void Compiler::authorizations() {
  auto& table = p_.authorizations_;
  StringMap<SourceLoc> seen;
  for (const model::Authorization& spec : src_.authorizations) {
    std::string id = fmt::format("{}/{}", spec.meta.ns, spec.meta.name);
    if (!unique(seen, id, spec.meta.loc, "authorization")) continue;
    Authorization a;
    a.id = std::move(id);
    a.action = spec.action;
    a.dry_run = spec.dry_run;
    a.spec = &spec;
    for (const auto& rule : spec.rules) a.rules.push_back(authz_rule(rule));
    table.items().push_back(std::move(a));
  }
  // Place each policy in its scope. The items vector is complete, so pointers stay valid.
  table.workloads().resize(p_.workloads_.all().size());
  for (const Authorization& a : table.items()) {
    const model::Authorization& spec = *a.spec;
    const bool root = spec.meta.ns == opt_.root_namespace;
    auto place = [&](AuthzScope& scope) {
      if (a.dry_run) scope.dry_run.push_back(&a);
      else if (a.action == model::AuthzAction::Deny) scope.deny.push_back(&a);
      else if (a.action == model::AuthzAction::Audit) scope.audit.push_back(&a);
      else scope.allow.push_back(&a);
    };
    if (!spec.selector || spec.selector->empty()) {
      place(root ? table.mesh() : table.namespaces()[spec.meta.ns]);
      continue;
    }
    // A selector in the root namespace picks workloads in every namespace, as in Istio.
    for (uint32_t w : select(*spec.selector, root ? nullptr : &spec.meta.ns)) place(table.workloads()[w]);
  }
  table.resolve(p_.workloads_.all());
}

void Compiler::peer_authentications() {
  using model::MtlsMode;
  auto& table = p_.peer_auth_;
  const auto& workloads = p_.workloads_.all();
  StringMap<SourceLoc> seen;
  StringMap<const model::PeerAuthentication*> ns_wide;
  std::vector<const model::PeerAuthentication*> own(workloads.size(), nullptr);
  const model::PeerAuthentication* mesh = nullptr;
  for (const model::PeerAuthentication& spec : src_.peer_authentications) {
    std::string id = fmt::format("{}/{}", spec.meta.ns, spec.meta.name);
    if (!unique(seen, id, spec.meta.loc, "peer_authentication")) continue;
    auto conflict = [&](const model::PeerAuthentication* other, std::string_view scope) {
      d_.error(spec.meta.loc, fmt::format("peer_authentication '{}' conflicts with '{}/{}' ({}): both apply to {}; "
                                          "keep one", id, other->meta.ns, other->meta.name, where(other->meta.loc), scope));
    };
    if (!spec.selector || spec.selector->empty()) {
      if (spec.meta.ns == opt_.root_namespace) {
        if (mesh) conflict(mesh, "the whole mesh");
        else mesh = &spec;
      } else if (auto [it, inserted] = ns_wide.emplace(spec.meta.ns, &spec); !inserted) {
        conflict(it->second, fmt::format("namespace '{}'", spec.meta.ns));
      }
      continue;
    }
    for (uint32_t w : select(*spec.selector, &spec.meta.ns)) {
      if (own[w]) conflict(own[w], fmt::format("workload '{}'", workloads[w].id));
      else own[w] = &spec;
    }
  }
  // Narrowest scope wins; UNSET inherits from the next wider scope; nothing set = PERMISSIVE.
  table.mesh() = mesh && mesh->mode != MtlsMode::Unset ? MtlsDecision{mesh->mode, mesh} : MtlsDecision{};
  table.workloads().resize(workloads.size());
  for (const Workload& w : workloads) {
    MtlsDecision d = table.mesh();
    if (auto it = ns_wide.find(w.ns); it != ns_wide.end() && it->second->mode != MtlsMode::Unset) {
      d = MtlsDecision{it->second->mode, it->second};
    }
    if (own[w.index] && own[w.index]->mode != MtlsMode::Unset) d = MtlsDecision{own[w.index]->mode, own[w.index]};
    WorkloadMtls& out = table.workloads()[w.index];
    out.workload = d;
    if (own[w.index]) {
      for (const auto& [port, mode] : own[w.index]->port_level_mtls) {
        if (mode != MtlsMode::Unset) out.ports.emplace_back(port, MtlsDecision{mode, own[w.index]});
      }
    }
  }
}

}  // namespace mesh::policy::detail
