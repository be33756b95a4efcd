#include "policy/traffic.hpp"

#include <fmt/format.h>
#include <re2/re2.h>

namespace mesh::policy {

StringMatcher::StringMatcher(Kind kind, std::string value, std::unique_ptr<re2::RE2> regex, bool ignore_case)
    : kind_(kind), ignore_case_(ignore_case), value_(std::move(value)), regex_(std::move(regex)) {}
StringMatcher::StringMatcher(StringMatcher&&) noexcept = default;
StringMatcher& StringMatcher::operator=(StringMatcher&&) noexcept = default;
StringMatcher::~StringMatcher() = default;

bool StringMatcher::matches_regex(std::string_view s) const {
  return re2::RE2::FullMatch(re2::StringPiece(s.data(), s.size()), *regex_);
}

const Subset* Destination::subset(std::string_view name) const {
  for (const auto& s : subsets)
    if (s.name == name) return &s;
  return nullptr;
}

const TrafficPolicy& default_traffic_policy() {
  static const TrafficPolicy kPolicy = [] {
    TrafficPolicy p;
    p.load_balancer.simple = model::LbPolicy::LeastRequest;  // Istio's default
    return p;
  }();
  return kPolicy;
}

std::string cluster_key(std::string_view host, std::string_view subset, uint16_t port) {
  return fmt::format("outbound|{}|{}|{}", port, subset, host);
}

std::string cluster_key(const RouteTarget& target, uint16_t dialled_port) {
  if (target.port) return target.cluster;
  return cluster_key(target.host, target.subset ? std::string_view(target.subset->name) : std::string_view(),
                     dialled_port);
}

const Route* RouteTable::for_host(std::string_view host, std::string_view gateway) const {
  auto g = by_gateway_.find(gateway);
  if (g == by_gateway_.end()) return nullptr;
  const uint32_t* i = find_host(g->second, host);
  return i ? &items_[*i] : nullptr;
}

const Destination* DestinationTable::for_host(std::string_view host) const {
  auto it = by_host_.find(host);
  return it == by_host_.end() ? nullptr : &items_[it->second];
}

}  // namespace mesh::policy
