#pragma once
// The traffic half of the mesh model: routes (≈ VirtualService / ServiceProfile /
// TrafficSplit) and destinations (≈ DestinationRule). Plain values decoded from TOML; the
// meaning of every field is Istio's, spelled in snake_case.
#include <optional>
#include <utility>
#include <vector>

#include "daemon/base/clock.hpp"
#include "daemon/base/socket_addr.hpp"
#include "policy/model_common.hpp"

namespace mesh::policy::model {

// Istio's StringMatch: exact, prefix or RE2 regex; case-sensitive. Present matches any value
// of a header that exists (Istio's empty match).
struct StringMatch {
  enum class Kind : uint8_t { Exact, Prefix, Regex, Present };
  Kind kind = Kind::Exact;
  std::string value;
  SourceLoc loc;
};

struct KeyMatch {
  std::string name;  // header names are lowercased
  StringMatch match;
};

// One match block: every condition present must hold (AND); a rule's blocks are ORed.
struct HttpMatch {
  SourceLoc loc;
  std::string name;
  std::optional<StringMatch> path;  // Istio "uri"
  std::optional<StringMatch> method;
  std::optional<StringMatch> authority;
  std::optional<StringMatch> scheme;
  std::vector<KeyMatch> headers;
  std::vector<KeyMatch> without_headers;
  std::vector<KeyMatch> query;  // exact or regex only, as in Istio
  uint16_t port = 0;
  Labels source_labels;
  std::string source_namespace;
  bool ignore_uri_case = false;
};

struct RouteDestination {
  SourceLoc loc;
  Located<std::string> host;
  Located<std::string> subset;
  uint16_t port = 0;
  std::optional<uint32_t> weight;
  SourceLoc weight_loc;
};

struct Retries {
  SourceLoc loc;
  uint32_t attempts = 0;  // retries after the first try; 0 disables
  std::optional<base::Duration> per_try_timeout;
  std::vector<Located<std::string>> retry_on;  // Envoy conditions or status codes ("503")
};

// Linkerd's retry budget: over the last `ttl`, retries ≤ requests × ratio + min_per_second × ttl.
struct RetryBudget {
  SourceLoc loc;
  double ratio = 0.2;
  uint32_t min_per_second = 10;
  base::Duration ttl = std::chrono::seconds(10);
};

struct FaultDelay {
  base::Duration fixed_delay{};
  double percentage = 100;
};

struct FaultAbort {
  uint16_t http_status = 0;
  double percentage = 100;
};

struct Fault {
  SourceLoc loc;
  std::optional<FaultDelay> delay;
  std::optional<FaultAbort> abort;
};

struct Rewrite {
  std::string path;       // replaces the matched prefix (or the whole path for exact matches)
  std::string full_path;  // Gateway API's ReplaceFullPath: replaces the whole path
  std::string authority;
};

struct Redirect {
  SourceLoc loc;
  std::string path;
  std::string authority;
  std::string scheme;
  uint16_t port = 0;
  uint16_t code = 301;
};

struct HeaderOps {
  Labels set;
  Labels add;
  std::vector<std::string> remove;
};

struct Mirror {
  RouteDestination destination;
  double percentage = 100;
};

struct HttpRule {
  SourceLoc loc;
  std::string name;
  std::vector<HttpMatch> match;  // empty: matches every request
  std::vector<RouteDestination> to;
  std::optional<base::Duration> timeout;
  std::optional<Retries> retries;
  std::optional<Fault> fault;
  std::optional<Rewrite> rewrite;
  std::optional<Redirect> redirect;
  std::optional<Mirror> mirror;
  HeaderOps request_headers;
  HeaderOps response_headers;
};

struct TcpMatch {
  SourceLoc loc;
  uint16_t port = 0;
  std::vector<base::Cidr> destination_subnets;
  Labels source_labels;
  std::string source_namespace;
};

struct TcpRule {
  SourceLoc loc;
  std::string name;
  std::vector<TcpMatch> match;
  std::vector<RouteDestination> to;
};

struct Route {
  Meta meta;
  std::vector<Located<std::string>> hosts;
  std::vector<Located<std::string>> gateways;  // empty = "mesh"
  std::vector<HttpRule> http;
  std::vector<TcpRule> tcp;
  std::optional<RetryBudget> retry_budget;
};

enum class LbPolicy : uint8_t { Unspecified, RoundRobin, LeastRequest, Random, Passthrough, PeakEwma };

struct ConsistentHash {
  enum class Key : uint8_t { Header, Cookie, SourceIp, QueryParameter };
  enum class Algorithm : uint8_t { RingHash, Maglev };
  Key key = Key::SourceIp;
  std::string name;  // header, cookie or query parameter name
  std::string cookie_path;
  std::optional<base::Duration> cookie_ttl;
  Algorithm algorithm = Algorithm::RingHash;
  uint64_t minimum_ring_size = 1024;
  uint64_t table_size = 65537;
};

struct LoadBalancer {
  SourceLoc loc;
  LbPolicy simple = LbPolicy::Unspecified;
  std::optional<ConsistentHash> consistent_hash;
};

// Istio's defaults: effectively unlimited, which disables Envoy's 1024 circuit breakers.
struct ConnectionPool {
  SourceLoc loc;
  uint32_t max_connections = UINT32_MAX;
  base::Duration connect_timeout = std::chrono::seconds(10);
  base::Duration tcp_idle_timeout = std::chrono::hours(1);
  base::Duration max_connection_duration{};  // 0 = unlimited
  uint32_t http1_max_pending_requests = UINT32_MAX;
  uint32_t http2_max_requests = UINT32_MAX;
  uint32_t max_requests_per_connection = 0;  // 0 = unlimited
  uint32_t max_retries = UINT32_MAX;
  base::Duration http_idle_timeout = std::chrono::hours(1);
  uint32_t max_concurrent_streams = INT32_MAX;
};

struct OutlierDetection {
  SourceLoc loc;
  uint32_t consecutive_5xx_errors = 5;      // 0 disables
  uint32_t consecutive_gateway_errors = 0;  // 0 disables
  uint32_t consecutive_local_origin_failures = 5;
  bool split_external_local_origin_errors = false;
  base::Duration interval = std::chrono::seconds(10);
  base::Duration base_ejection_time = std::chrono::seconds(30);
  uint32_t max_ejection_percent = 10;
  uint32_t min_health_percent = 0;
};

enum class ClientTlsMode : uint8_t { Disable, Simple, Mutual, IstioMutual };

struct ClientTls {
  SourceLoc loc;
  ClientTlsMode mode = ClientTlsMode::IstioMutual;
  std::string client_certificate;
  std::string private_key;
  std::string ca_certificates;
  std::string sni;
  std::vector<std::string> subject_alt_names;
  bool insecure_skip_verify = false;
};

// Subset-level values replace the destination-level ones table by table, as in Istio.
struct TrafficPolicy {
  std::optional<LoadBalancer> load_balancer;
  std::optional<ConnectionPool> connection_pool;
  std::optional<OutlierDetection> outlier_detection;
  std::optional<ClientTls> tls;
};

struct Subset {
  SourceLoc loc;
  std::string name;
  Labels labels;
  TrafficPolicy traffic_policy;
};

struct DestinationRule {
  Meta meta;
  Located<std::string> host;
  TrafficPolicy traffic_policy;
  std::vector<Subset> subsets;
};

}  // namespace mesh::policy::model
