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

struct RouteTarget {
  std::string host;                   // canonical host name
  const Service* service = nullptr;   // exactly one of service and external is set
  const External* external = nullptr;
  const Subset* subset = nullptr;     // null: every endpoint
  uint16_t port = 0;                  // 0: the port the client dialled
  uint32_t weight = 100;
};

// Retry conditions as bits; status_codes lists the retriable codes.
enum RetryOn : uint32_t {
  kRetry5xx = 1u << 0, kRetryGatewayError = 1u << 1, kRetryReset = 1u << 2, kRetryConnectFailure = 1u << 3,
  kRetryRetriable4xx = 1u << 4, kRetryRefusedStream = 1u << 5, kRetryRetriableStatusCodes = 1u << 6,
  kRetryRetriableHeaders = 1u << 7, kRetryEnvoyRateLimited = 1u << 8, kRetryCancelled = 1u << 9,
  kRetryDeadlineExceeded = 1u << 10, kRetryInternal = 1u << 11, kRetryResourceExhausted = 1u << 12,
  kRetryUnavailable = 1u << 13,
};

struct RetryPolicy {
  uint32_t attempts = 0;            // retries after the first try
  base::Duration per_try_timeout{};  // 0: bounded only by the route timeout
  uint32_t on = 0;                  // RetryOn bits
  std::vector<uint16_t> status_codes;
  bool istio_default = false;       // no retries table: Istio's default policy
};

struct HttpRule {
  uint32_t index = 0;
  std::string name;
  std::vector<HttpMatcher> matches;  // empty: every request
  std::vector<RouteTarget> targets;  // empty for a redirect
  std::vector<uint32_t> cumulative;  // running sums of target weights
  base::Duration timeout{};          // 0: none (Istio's default)
  RetryPolicy retries;
  std::optional<RouteTarget> mirror;
  const model::HttpRule* spec = nullptr;  // fault, rewrite, redirect, headers, mirror percentage
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
