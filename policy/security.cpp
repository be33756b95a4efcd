#include "policy/security.hpp"

namespace mesh::policy {

ValueMatcher ValueMatcher::parse(std::string_view pattern) {
  if (pattern == "*") return {Kind::Any, {}};
  if (pattern.starts_with('*')) return {Kind::Suffix, std::string(pattern.substr(1))};
  if (pattern.ends_with('*')) return {Kind::Prefix, std::string(pattern.substr(0, pattern.size() - 1))};
  return {Kind::Exact, std::string(pattern)};
}

bool ValueMatcher::matches(std::string_view s) const {
  switch (kind) {
    case Kind::Exact: return s == value;
    case Kind::Prefix: return s.starts_with(value);
    case Kind::Suffix: return s.ends_with(value);
    case Kind::Any: return !s.empty();
  }
  return false;
}

std::array<const AuthzScope*, 3> AuthorizationTable::for_workload(const Workload& w) const {
  auto ns = by_ns_.find(w.ns);
  return {&mesh_, ns == by_ns_.end() ? &empty_ : &ns->second,
          w.index < by_workload_.size() ? &by_workload_[w.index] : &empty_};
}

MtlsDecision PeerAuthTable::lookup(const Workload* w, uint16_t port) const {
  if (!w || w->index >= by_workload_.size()) return mesh_;
  const WorkloadMtls& m = by_workload_[w->index];
  for (const auto& [p, d] : m.ports)
    if (p == port) return d;
  return m.workload;
}

}  // namespace mesh::policy
