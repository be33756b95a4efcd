#include "policy/inventory.hpp"

#include <fmt/format.h>

namespace mesh::policy {
namespace {

template <class T, class Map, class Key>
const T* lookup(const std::vector<T>& items, const Map& map, const Key& key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &items[it->second];
}

// "ns/name" without allocating for ordinary lengths.
template <class T>
const T* by_id(const std::vector<T>& items, const StringMap<uint32_t>& map, std::string_view ns,
               std::string_view name) {
  char buf[320];
  if (ns.size() + name.size() + 1 > sizeof(buf)) return nullptr;
  ns.copy(buf, ns.size());
  buf[ns.size()] = '/';
  name.copy(buf + ns.size() + 1, name.size());
  return lookup(items, map, std::string_view(buf, ns.size() + name.size() + 1));
}

}  // namespace

const model::ServicePort* Service::port(uint16_t number) const {
  for (const auto& p : ports)
    if (p.port == number) return &p;
  return nullptr;
}

const model::ServicePort* External::port(uint16_t number) const {
  for (const auto& p : spec->ports)
    if (p.port == number) return &p;
  return nullptr;
}

const Workload* WorkloadTable::by_name(std::string_view ns, std::string_view name) const {
  return by_id(items_, by_id_, ns, name);
}

const Service* ServiceTable::by_name(std::string_view ns, std::string_view name) const {
  return by_id(items_, by_id_, ns, name);
}

const Service* ServiceTable::by_host(std::string_view host) const { return lookup(items_, by_host_, host); }

const External* ExternalTable::by_host(std::string_view host) const {
  const uint32_t* i = find_host(by_host_, host);
  return i ? &items_[*i] : nullptr;
}

const External* ExternalTable::by_ip(const base::IpAddr& ip) const {
  for (const auto& e : items_)
    for (const auto& cidr : e.spec->addresses)
      if (cidr.contains(ip)) return &e;
  return nullptr;
}

const Gateway* GatewayTable::by_name(std::string_view ns, std::string_view name) const {
  for (const auto& g : items_)
    if (g.spec->meta.ns == ns && g.spec->meta.name == name) return &g;
  return nullptr;
}

}  // namespace mesh::policy
