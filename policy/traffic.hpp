#pragma once
// The compiled traffic policy: route rules with their matchers pre-built (RE2 programs
// compiled once), destinations resolved to services, externals and subsets, weights turned
// into cumulative tables, Istio's defaults applied (retries, load balancer, connection pool).
// Immutable after compile; any thread may read it while holding the snapshot.
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "policy/inventory.hpp"
#include "policy/names.hpp"
#include "policy/route_actions.hpp"

namespace re2 {
class RE2;
}

namespace mesh::policy {

// A route string match: exact, prefix or RE2 (full match), optionally case-insensitive.
class StringMatcher {
 public:
  using Kind = model::StringMatch::Kind;
  StringMatcher(Kind kind, std::string value, std::unique_ptr<re2::RE2> regex, bool ignore_case);
  StringMatcher(StringMatcher&&) noexcept;
  StringMatcher& operator=(StringMatcher&&) noexcept;
  ~StringMatcher();

  bool matches(std::string_view s) const {
    switch (kind_) {
      case Kind::Exact: return ignore_case_ ? iequals(s, value_) : s == value_;
      case Kind::Prefix:
        return ignore_case_ ? s.size() >= value_.size() && iequals(s.substr(0, value_.size()), value_)
                            : s.starts_with(value_);
      case Kind::Regex: return matches_regex(s);
      case Kind::Present: return true;
    }
    return false;
  }
  Kind kind() const { return kind_; }
  const std::string& value() const { return value_; }

 private:
  bool matches_regex(std::string_view s) const;

  Kind kind_;
  bool ignore_case_;
  std::string value_;
  std::unique_ptr<re2::RE2> regex_;
};

struct KeyMatcher {
  std::string name;
  StringMatcher match;
};

// Which conditions a match block has, so matching skips the others.
enum HttpMatchFields : uint16_t {
  kMatchPort = 1u << 0, kMatchPath = 1u << 1, kMatchMethod = 1u << 2, kMatchAuthority = 1u << 3,
  kMatchScheme = 1u << 4, kMatchHeaders = 1u << 5, kMatchWithoutHeaders = 1u << 6, kMatchQuery = 1u << 7,
  kMatchSource = 1u << 8,
};

struct HttpMatcher {
  uint16_t fields = 0;  // HttpMatchFields
  std::optional<StringMatcher> path;
  std::optional<StringMatcher> method;
  std::optional<StringMatcher> authority;
  std::optional<StringMatcher> scheme;
  std::vector<KeyMatcher> headers;
  std::vector<KeyMatcher> without_headers;
  std::vector<KeyMatcher> query;
  uint16_t port = 0;
  model::Labels source_labels;
  std::string source_namespace;
};

// The traffic policy of a host or subset with every default filled in.
struct TrafficPolicy {
  model::LoadBalancer load_balancer;  // simple = LeastRequest when unspecified (Istio's default)
  model::ConnectionPool connection_pool;
  std::optional<model::OutlierDetection> outlier_detection;
  std::optional<model::ClientTls> tls;
};

struct Subset {
  std::string name;
  model::Labels labels;
  TrafficPolicy traffic_policy;
  std::vector<uint32_t> endpoints;  // workload indices: the service's endpoints with these labels
};

struct Destination {
  std::string id;
  std::string host;
  TrafficPolicy traffic_policy;
  std::vector<Subset> subsets;
  const model::DestinationRule* spec = nullptr;

  const Subset* subset(std::string_view name) const;
};

// Istio's defaults, for a host without a [[destination]]: least request, unlimited
// connection pool, no outlier detection, no TLS settings (the mesh's own mTLS to workloads).
const TrafficPolicy& default_traffic_policy();

struct RouteTarget {
  std::string host;                   // canonical host name
  const Service* service = nullptr;   // exactly one of service and external is set
  const External* external = nullptr;
  const Subset* subset = nullptr;     // null: every endpoint
  uint16_t port = 0;                  // 0: the port the client dialled
  uint32_t weight = 100;
  // Never null: the subset's policy (merged over its destination's), else the destination's,
  // else default_traffic_policy().
  const TrafficPolicy* traffic_policy = &default_traffic_policy();
  // The backend as a name that survives reloads, for the data path's per-worker caches:
  // cluster_key(host, subset, port); empty when port is 0 (call cluster_key(target, dialled)).
  std::string cluster;
};

// Istio's cluster name, "outbound|<port>|<subset>|<host>" (subset empty for every endpoint).
std::string cluster_key(std::string_view host, std::string_view subset, uint16_t port);
// The target's key when the client dialled `dialled_port` (the target's own port wins).
std::string cluster_key(const RouteTarget& target, uint16_t dialled_port);

// Istio's mirror: a copy of `fraction` of the requests goes to `target`, its answer ignored.
struct Mirror {
  RouteTarget target;
  Fraction fraction;
};

struct HttpRule {
  uint32_t index = 0;
  std::string name;
  std::vector<HttpMatcher> matches;  // empty: every request
  std::vector<RouteTarget> targets;  // empty for a redirect
  std::vector<uint32_t> cumulative;  // running sums of target weights
  RouteActions actions;              // compiled once: what the data path does to the request
  std::optional<Mirror> mirror;
  const model::HttpRule* spec = nullptr;  // source locations
};

struct TcpRule {
  uint32_t index = 0;
  std::string name;
  std::vector<RouteTarget> targets;
  std::vector<uint32_t> cumulative;
  const model::TcpRule* spec = nullptr;  // matches
};

struct Route {
  std::string id;
  std::vector<HttpRule> http;
  std::vector<TcpRule> tcp;
  const model::Route* spec = nullptr;
};

// Routes by (gateway, host). The mesh (east-west traffic) is the gateway named "mesh".
inline constexpr std::string_view kMeshGateway = "mesh";

class RouteTable {
 public:
  std::span<const Route> all() const { return items_; }
  const Route* for_host(std::string_view host, std::string_view gateway = kMeshGateway) const;

  std::vector<Route>& items() { return items_; }
  StringMap<StringMap<uint32_t>>& index() { return by_gateway_; }

 private:
  std::vector<Route> items_;
  StringMap<StringMap<uint32_t>> by_gateway_;
};

class DestinationTable {
 public:
  std::span<const Destination> all() const { return items_; }
  const Destination* for_host(std::string_view host) const;

  std::vector<Destination>& items() { return items_; }
  StringMap<uint32_t>& index() { return by_host_; }

 private:
  std::vector<Destination> items_;
  StringMap<uint32_t> by_host_;
};

}  // namespace mesh::policy
