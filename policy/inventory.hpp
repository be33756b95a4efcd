#pragma once
// The compiled inventory: workloads, services, external services and gateways of one policy
// snapshot, with the lookups the daemon needs on its data path (workload by IP, service by
// VIP or host name) and for enrollment and telemetry (by namespace/name). Built once by
// compile() and immutable afterwards, so any thread may read it while it holds the snapshot.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "daemon/base/socket_addr.hpp"
#include "policy/ip_index.hpp"
#include "policy/model.hpp"

namespace mesh::policy {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

struct Workload {
  uint32_t index = 0;
  std::string id;        // "namespace/name"
  std::string name;
  std::string ns;
  std::string service_account;
  std::string identity;  // "spiffe://<trust-domain>/ns/<ns>/sa/<sa>"
  std::string node;
  std::vector<base::IpAddr> addresses;
  model::Labels labels;
  model::WorkloadProtocol protocol = model::WorkloadProtocol::Hbone;
  std::vector<uint32_t> services;  // indices of the services whose selector picks it
  const model::Workload* spec = nullptr;

  // The identity as Istio principals are written: without "spiffe://".
  std::string_view principal() const { return std::string_view(identity).substr(9); }
};

struct Service {
  uint32_t index = 0;
  std::string id;        // "namespace/name"
  std::string name;
  std::string ns;
  std::string hostname;  // "<name>.<ns>.svc.<cluster-domain>"
  std::vector<base::IpAddr> vips;
  std::vector<model::ServicePort> ports;
  std::vector<uint32_t> endpoints;  // workload indices, in workload order
  const model::Service* spec = nullptr;
  const struct Route* route = nullptr;              // the mesh route for this host, if any
  const struct Destination* destination = nullptr;  // the destination for this host, if any

  const model::ServicePort* port(uint16_t number) const;
};

struct External {
  uint32_t index = 0;
  std::string id;
  const model::External* spec = nullptr;

  const model::ServicePort* port(uint16_t number) const;
};

struct Gateway {
  uint32_t index = 0;
  std::string id;
  std::vector<uint32_t> workloads;  // the workloads its selector picks, in any namespace
  const model::Gateway* spec = nullptr;
};

class WorkloadTable {
 public:
  std::span<const Workload> all() const { return items_; }
  const Workload* by_ip(const base::IpAddr& ip) const {
    const uint32_t* i = by_ip_.find(ip);
    return i ? &items_[*i] : nullptr;
  }
  const Workload* by_name(std::string_view ns, std::string_view name) const;

  // Building (compile only).
  std::vector<Workload>& items() { return items_; }
  bool index_ip(const base::IpAddr& ip, uint32_t i) { return by_ip_.insert(ip, i); }
  void index_name(const std::string& id, uint32_t i) { by_id_.emplace(id, i); }

 private:
  std::vector<Workload> items_;
  IpIndex by_ip_;
  StringMap<uint32_t> by_id_;
};

class ServiceTable {
 public:
  std::span<const Service> all() const { return items_; }
  const Service* by_vip(const base::IpAddr& ip) const {
    const uint32_t* i = by_vip_.find(ip);
    return i ? &items_[*i] : nullptr;
  }
  const Service* by_name(std::string_view ns, std::string_view name) const;
  // By full host name, or by "<name>.<ns>" and "<name>.<ns>.svc".
  const Service* by_host(std::string_view host) const;

  std::vector<Service>& items() { return items_; }
  bool index_vip(const base::IpAddr& ip, uint32_t i) { return by_vip_.insert(ip, i); }
  void index_name(const std::string& id, uint32_t i) { by_id_.emplace(id, i); }
  void index_host(const std::string& host, uint32_t i) { by_host_.emplace(host, i); }

 private:
  std::vector<Service> items_;
  IpIndex by_vip_;
  StringMap<uint32_t> by_id_;
  StringMap<uint32_t> by_host_;
};

class ExternalTable {
 public:
  std::span<const External> all() const { return items_; }
  // Exact host first, then the longest matching wildcard ("*.example.com", "*").
  const External* by_host(std::string_view host) const;
  const External* by_ip(const base::IpAddr& ip) const;

  std::vector<External>& items() { return items_; }
  void index_host(const std::string& host, uint32_t i) { by_host_.emplace(host, i); }

 private:
  std::vector<External> items_;
  StringMap<uint32_t> by_host_;
};

class GatewayTable {
 public:
  std::span<const Gateway> all() const { return items_; }
  const Gateway* by_name(std::string_view ns, std::string_view name) const;

  std::vector<Gateway>& items() { return items_; }

 private:
  std::vector<Gateway> items_;
};

// Wildcard lookup shared by the host maps: exact key, then "*.<suffix>" for ever shorter
// suffixes, then "*".
template <class V>
const V* find_host(const StringMap<V>& map, std::string_view host) {
  if (auto it = map.find(host); it != map.end()) return &it->second;
  char buf[256];
  std::string_view rest = host;
  while (!rest.empty()) {
    size_t dot = rest.find('.');
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot);  // ".example.com"
    if (rest.size() + 1 > sizeof(buf)) {
      rest.remove_prefix(1);
      continue;
    }
    buf[0] = '*';
    rest.copy(buf + 1, rest.size());
    if (auto it = map.find(std::string_view(buf, rest.size() + 1)); it != map.end()) return &it->second;
    rest.remove_prefix(1);
  }
  if (auto it = map.find(std::string_view("*")); it != map.end()) return &it->second;
  return nullptr;
}

}  // namespace mesh::policy
