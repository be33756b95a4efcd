#include "policy/security.hpp"


namespace mesh::policy {

ValueMatcher ValueMatcher::parse(std::string_view pattern) {
  if (pattern == "*") return {Kind::Any, {}};
  if (pattern.starts_with('*')) return {Kind::Suffix, std::string(pattern.substr(1))};
  if (pattern.ends_with('*')) return {Kind::Prefix, std::string(pattern.substr(0, pattern.size() - 1))};
  return {Kind::Exact, std::string(pattern)};
}

CidrMatcher CidrMatcher::of(const base::Cidr& cidr) {
  CidrMatcher m;
  const base::IpAddr& base = cidr.base();
  const uint32_t bits = cidr.prefix_len();
  if (base.is_v4()) {
    m.lo = base.v4_host_order();
    m.mask_lo = bits == 0 ? 0 : (~uint64_t{0} << (32 - bits)) & 0xffffffffu;
  } else {
    m.family = 2;
    std::memcpy(&m.hi, base.bytes().data(), 8);
    std::memcpy(&m.lo, base.bytes().data() + 8, 8);
    m.hi = be64toh(m.hi);
    m.lo = be64toh(m.lo);
    m.mask_hi = bits == 0 ? 0 : bits >= 64 ? ~uint64_t{0} : ~uint64_t{0} << (64 - bits);
    m.mask_lo = bits <= 64 ? 0 : bits == 128 ? ~uint64_t{0} : ~uint64_t{0} << (128 - bits);
  }
  m.hi &= m.mask_hi;
  m.lo &= m.mask_lo;
  return m;
}

uint8_t AuthorizationTable::lists_of(const std::array<const AuthzScope*, 3>& scopes) {
  uint8_t bits = 0;
  for (const AuthzScope* s : scopes) {
    bits |= (s->deny.empty() ? 0 : kListDeny) | (s->audit.empty() ? 0 : kListAudit) |
            (s->allow.empty() ? 0 : kListAllow) | (s->dry_run.empty() ? 0 : kListDryRun);
  }
  return bits;
}

void AuthorizationTable::resolve(std::span<const Workload> workloads) {
  resolved_.clear();
  lists_.clear();
  for (const Workload& w : workloads) {
    auto ns = by_ns_.find(w.ns);
    resolved_.push_back({&mesh_, ns == by_ns_.end() ? &empty_ : &ns->second,
                         w.index < by_workload_.size() ? &by_workload_[w.index] : &empty_});
    lists_.push_back(lists_of(resolved_.back()));
  }
}

std::array<const AuthzScope*, 3> AuthorizationTable::for_stranger(const Workload& w) const {
  auto ns = by_ns_.find(w.ns);
  return {&mesh_, ns == by_ns_.end() ? &empty_ : &ns->second,
          w.index < by_workload_.size() ? &by_workload_[w.index] : &empty_};
}


}  // namespace mesh::policy
