// Compile passes for the inventory: workloads (identities, addresses), services (host names,
// VIPs, endpoints by selector), external services and gateways.
#include <fmt/format.h>

#include "policy/compile_internal.hpp"

namespace mesh::policy::detail {

void Compiler::workloads() {
  auto& table = p_.workloads_;
  StringMap<SourceLoc> seen;
  for (const model::Workload& spec : src_.workloads) {
    std::string id = fmt::format("{}/{}", spec.meta.ns, spec.meta.name);
    if (!unique(seen, id, spec.meta.loc, "workload")) continue;
    auto index = static_cast<uint32_t>(table.items().size());
    Workload w;
    w.index = index;
    w.id = id;
    w.name = spec.meta.name;
    w.ns = spec.meta.ns;
    w.service_account = spec.service_account;
    w.identity = fmt::format("spiffe://{}/ns/{}/sa/{}", opt_.trust_domain, spec.meta.ns, spec.service_account);
    w.node = spec.node;
    w.labels = spec.labels;
    w.protocol = spec.protocol;
    w.spec = &spec;
    for (const auto& ip : spec.addresses) {
      if (const Workload* other = table.by_ip(ip); other && other->index != index) {
        d_.error(spec.addresses_loc, fmt::format("workload '{}': address {} is already used by workload '{}' ({})", id,
                                                 ip.to_string(), other->id, where(other->spec->meta.loc)));
        continue;
      }
      if (table.index_ip(ip, index)) w.addresses.push_back(ip);
    }
    table.index_name(id, index);
    by_ns_[w.ns].push_back(index);
    for (const auto& [k, v] : w.labels) {
      by_label_[fmt::format("{}/{}={}", w.ns, k, v)].push_back(index);
      by_label_[fmt::format("*/{}={}", k, v)].push_back(index);
    }
    table.items().push_back(std::move(w));
  }
}

void Compiler::services() {
  auto& table = p_.services_;
  StringMap<SourceLoc> seen;
  for (const model::Service& spec : src_.services) {
    std::string id = fmt::format("{}/{}", spec.meta.ns, spec.meta.name);
    if (!unique(seen, id, spec.meta.loc, "service")) continue;
    auto index = static_cast<uint32_t>(table.items().size());
    Service s;
    s.index = index;
    s.id = id;
    s.name = spec.meta.name;
    s.ns = spec.meta.ns;
    s.hostname = fmt::format("{}.{}.svc.{}", s.name, s.ns, opt_.cluster_domain);
    s.ports = spec.ports;
    s.spec = &spec;
    for (const auto& ip : spec.vips) {
      if (const Service* other = table.by_vip(ip)) {
        d_.error(spec.vips_loc, fmt::format("service '{}': VIP {} is already used by service '{}' ({})", id, ip.to_string(),
                                            other->id, where(other->spec->meta.loc)));
      } else if (const Workload* w = p_.workloads_.by_ip(ip)) {
        d_.error(spec.vips_loc, fmt::format("service '{}': VIP {} is the address of workload '{}' ({})", id,
                                            ip.to_string(), w->id, where(w->spec->meta.loc)));
      } else {
        s.vips.push_back(ip);
        table.index_vip(ip, index);
      }
    }
    if (spec.selector) s.endpoints = select(*spec.selector, &s.ns);
    for (uint32_t w : s.endpoints) p_.workloads_.items()[w].services.push_back(index);
    table.index_name(id, index);
    table.index_host(s.hostname, index);
    table.index_host(fmt::format("{}.{}", s.name, s.ns), index);
    table.index_host(fmt::format("{}.{}.svc", s.name, s.ns), index);
    table.items().push_back(std::move(s));
  }
}

void Compiler::externals() {
  auto& table = p_.externals_;
  StringMap<SourceLoc> seen;
  StringMap<std::string> host_owner;
  for (const model::External& spec : src_.externals) {
    std::string id = fmt::format("{}/{}", spec.meta.ns, spec.meta.name);
    if (!unique(seen, id, spec.meta.loc, "external")) continue;
    auto index = static_cast<uint32_t>(table.items().size());
    for (const auto& host : spec.hosts) {
      if (const Service* s = p_.services_.by_host(host.value)) {
        d_.error(host.loc, fmt::format("external '{}': host '{}' is the name of service '{}' ({})", id, host.value, s->id,
                                       where(s->spec->meta.loc)));
      } else if (auto [it, inserted] = host_owner.emplace(host.value, id); !inserted) {
        d_.error(host.loc, fmt::format("external '{}': host '{}' is already declared by external '{}'", id, host.value,
                                       it->second));
      } else {
        table.index_host(host.value, index);
      }
    }
    table.items().push_back(External{index, id, &spec});
  }
}

void Compiler::gateways() {
  auto& table = p_.gateways_;
  StringMap<SourceLoc> seen;
  for (const model::Gateway& spec : src_.gateways) {
    std::string id = fmt::format("{}/{}", spec.meta.ns, spec.meta.name);
    if (!unique(seen, id, spec.meta.loc, "gateway")) continue;
    for (size_t i = 0; i < spec.servers.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        const auto& a = spec.servers[i];
        const auto& b = spec.servers[j];
        if (a.port != b.port || a.bind != b.bind) continue;
        // Servers may share a port when their hosts differ (TLS picks one by SNI).
        for (const auto& ha : a.hosts) {
          for (const auto& hb : b.hosts) {
            if (ha.value == hb.value || ha.value == "*" || hb.value == "*") {
              d_.error(ha.loc, fmt::format("gateway '{}': port {} host '{}' is already served by the server at {}", id,
                                           a.port, ha.value, where(b.loc)));
            }
          }
        }
      }
    }
    Gateway g;
    g.index = static_cast<uint32_t>(table.items().size());
    g.id = id;
    g.workloads = select(spec.selector, nullptr);
    g.spec = &spec;
    table.items().push_back(std::move(g));
  }
}

}  // namespace mesh::policy::detail
