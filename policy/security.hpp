#pragma once
// The compiled security policy: authorization rules with their values pre-parsed into
// matchers, indexed by the workloads they apply to, and the effective peer-authentication
// mode of every workload and port. Immutable after compile; any thread may read it while
// holding the snapshot.
#include <endian.h>

#include <array>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "policy/inventory.hpp"

namespace mesh::policy {

// Istio's authorization string: "value", "prefix*", "*suffix" or "*" (any value, but present).
// Equality that avoids a memcmp call for the short values (methods, ports, names) most
// policies hold.
inline bool same(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.size() > 16) return std::memcmp(a.data(), b.data(), a.size()) == 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}

struct ValueMatcher {
  enum class Kind : uint8_t { Exact, Prefix, Suffix, Any };
  Kind kind = Kind::Exact;
  std::string value;

  static ValueMatcher parse(std::string_view pattern);
  bool matches(std::string_view s) const {
    switch (kind) {
      case Kind::Exact: return same(s, value);
      case Kind::Prefix: return s.starts_with(value);
      case Kind::Suffix: return s.ends_with(value);
      case Kind::Any: return !s.empty();
    }
    return false;
  }
};

// A CIDR as masks over the address's two 64-bit halves: one compare per half.
struct CidrMatcher {
  uint32_t family = 1;  // 1 = IPv4, 2 = IPv6
  uint64_t hi = 0, lo = 0, mask_hi = 0, mask_lo = 0;

  static CidrMatcher of(const base::Cidr& cidr);
  bool contains(const base::IpAddr& ip) const {
    if (ip.is_v4()) return family == 1 && (ip.v4_host_order() & mask_lo) == lo;
    if (family != 2) return false;
    uint64_t h, l;
    std::memcpy(&h, ip.bytes().data(), 8);
    std::memcpy(&l, ip.bytes().data() + 8, 8);
    return (be64toh(h) & mask_hi) == hi && (be64toh(l) & mask_lo) == lo;
  }
};

// Which attributes a source or operation tests, so evaluation skips the others.
enum MatcherFields : uint8_t {
  kFieldPrincipals = 1u << 0, kFieldNamespaces = 1u << 1, kFieldIpBlocks = 1u << 2,
  kFieldPorts = 1u << 3, kFieldHosts = 1u << 4, kFieldMethods = 1u << 5, kFieldPaths = 1u << 6,
};

struct SourceMatcher {
  std::vector<ValueMatcher> principals, not_principals;
  std::vector<ValueMatcher> namespaces, not_namespaces;
  std::vector<CidrMatcher> ip_blocks, not_ip_blocks;
  uint8_t fields = 0;  // MatcherFields with a value or not_ value
};

struct OperationMatcher {
  std::vector<ValueMatcher> hosts, not_hosts;  // lowercase
  std::vector<uint16_t> ports, not_ports;
  std::vector<ValueMatcher> methods, not_methods;
  std::vector<ValueMatcher> paths, not_paths;
  bool l7 = false;     // uses hosts, methods or paths
  uint8_t fields = 0;  // MatcherFields with a value or not_ value
};

struct ConditionMatcher {
  enum class Attribute : uint8_t { SourceIp, SourceNamespace, SourcePrincipal, DestinationIp, DestinationPort, RequestHeader };
  Attribute attribute = Attribute::SourceIp;
  std::string header;  // for RequestHeader, lowercase
  std::vector<ValueMatcher> values, not_values;
  std::vector<CidrMatcher> cidrs, not_cidrs;
  std::vector<uint16_t> ports, not_ports;
  bool l7 = false;
};

struct AuthzRule {
  std::vector<SourceMatcher> from;
  std::vector<OperationMatcher> to;
  std::vector<ConditionMatcher> when;
  bool l7 = false;  // some part needs the HTTP request
  SourceLoc loc;
};

struct Authorization {
  std::string id;  // "namespace/name"
  model::AuthzAction action = model::AuthzAction::Allow;
  bool dry_run = false;
  std::vector<AuthzRule> rules;
  const model::Authorization* spec = nullptr;
};

enum AuthzLists : uint8_t { kListDeny = 1u << 0, kListAudit = 1u << 1, kListAllow = 1u << 2, kListDryRun = 1u << 3 };

// The policies of one scope (mesh, a namespace, or one workload's selectors), by action.
struct AuthzScope {
  std::vector<const Authorization*> deny, audit, allow, dry_run;
  bool empty() const { return deny.empty() && audit.empty() && allow.empty() && dry_run.empty(); }
};

struct MtlsDecision {
  model::MtlsMode mode = model::MtlsMode::Permissive;      // never Unset
  const model::PeerAuthentication* source = nullptr;      // null: the mesh default (permissive)
};

class AuthorizationTable {
 public:
  std::span<const Authorization> all() const { return items_; }
  // The scopes that apply to a workload of this snapshot: mesh-wide, its namespace, its own
  // selectors (precomputed per workload; no lookup by name).
  std::array<const AuthzScope*, 3> for_workload(const Workload& w) const {
    return w.index < resolved_.size() ? resolved_[w.index] : for_stranger(w);
  }
  // Which lists are non-empty over the workload's three scopes (AuthzLists bits).
  uint8_t lists_for(const Workload& w) const {
    return w.index < lists_.size() ? lists_[w.index] : lists_of(for_stranger(w));
  }
  // Precomputes for_workload() and lists_for() for every workload (compile only, after
  // placing policies).
  void resolve(std::span<const Workload> workloads);

  std::vector<Authorization>& items() { return items_; }
  AuthzScope& mesh() { return mesh_; }
  StringMap<AuthzScope>& namespaces() { return by_ns_; }
  std::vector<AuthzScope>& workloads() { return by_workload_; }

 private:
  std::vector<Authorization> items_;
  AuthzScope mesh_;
  StringMap<AuthzScope> by_ns_;
  std::vector<AuthzScope> by_workload_;
  std::array<const AuthzScope*, 3> for_stranger(const Workload& w) const;
  static uint8_t lists_of(const std::array<const AuthzScope*, 3>& scopes);

  std::vector<std::array<const AuthzScope*, 3>> resolved_;
  std::vector<uint8_t> lists_;
  AuthzScope empty_;
};

struct WorkloadMtls {
  MtlsDecision workload;
  std::vector<std::pair<uint16_t, MtlsDecision>> ports;
};

class PeerAuthTable {
 public:
  // The effective mode for a connection to `port` of `w` (null: not a known workload, which
  // gets the mesh-wide mode).
  MtlsDecision lookup(const Workload* w, uint16_t port) const {
    if (!w || w->index >= by_workload_.size()) return mesh_;
    const WorkloadMtls& m = by_workload_[w->index];
    for (const auto& [p, d] : m.ports)
      if (p == port) return d;
    return m.workload;
  }

  MtlsDecision& mesh() { return mesh_; }
  std::vector<WorkloadMtls>& workloads() { return by_workload_; }

 private:
  MtlsDecision mesh_;
  std::vector<WorkloadMtls> by_workload_;
};

}  // namespace mesh::policy
