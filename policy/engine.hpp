#pragma once
// The decisions of the data path, evaluated against one CompiledPolicy snapshot:
//   * authorization of a connection (L4 attributes, when it is accepted and again when the
//     policy changes) and of each HTTP request on it (L7 attributes), with Istio's semantics;
//   * route selection for an HTTP request or a TCP connection (first matching rule, then a
//     weighted pick with a random source the caller supplies);
//   * the peer-authentication (mTLS) mode of a destination port.
// Every decision names the rule that made it; the pointers in a decision point into the
// snapshot, so keep the snapshot alive while using them. Pure functions that neither
// allocate nor lock on the decision path (except inside RE2, whose shared DFA cache is filled
// on first use of a regex); call them from any thread. describe() allocates: it is for logs.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "daemon/base/random.hpp"
#include "daemon/base/socket_addr.hpp"
#include "policy/compiled.hpp"

namespace mesh::policy {

struct Header {
  std::string_view name;  // compared case-insensitively
  std::string_view value;
};

// What is known when a connection reaches a workload.
struct ConnectionAttrs {
  std::string_view source_identity;        // peer's SPIFFE ID from mTLS; empty for plaintext
  base::IpAddr source_ip;
  const Workload* destination = nullptr;   // e.g. policy.workloads().by_ip(dst); null if unknown
  base::IpAddr destination_ip;
  uint16_t destination_port = 0;
};

// What an HTTP request adds.
struct RequestAttrs {
  std::string_view method;
  std::string_view path;       // :path as received, query string included
  std::string_view authority;  // :authority or Host, port included if sent
  std::string_view scheme;
  std::span<const Header> headers;
};

// The protocol of a connection once known (declared by the port, or sniffed).
enum class Transport : uint8_t { Http, Opaque };

enum class Verdict : uint8_t { Allow, Deny, PerRequest };

enum class Reason : uint8_t {
  NoAllowPolicy,     // allow: no ALLOW policy applies to the workload (and no DENY matched)
  AllowMatched,      // allow: an ALLOW rule matched
  DenyMatched,       // deny: a DENY rule matched
  NoAllowMatched,    // deny: ALLOW policies apply but none matched
  MtlsRequired,      // deny: peer authentication is STRICT and the connection is plaintext
  NotAWorkload,      // allow: the destination is not a workload of this policy
  DependsOnRequest,  // per request: an HTTP connection whose outcome depends on each request
};
std::string_view to_string(Verdict v);
std::string_view to_string(Reason r);

struct RuleRef {
  const Authorization* policy = nullptr;
  uint32_t rule = 0;
  explicit operator bool() const { return policy != nullptr; }
};

struct AuthzDecision {
  Verdict verdict = Verdict::Allow;
  Reason reason = Reason::NoAllowPolicy;
  RuleRef rule;       // the deciding DENY or ALLOW rule
  RuleRef audit;      // the first AUDIT rule that matched (logging only)
  MtlsDecision mtls;  // peer authentication of the destination port
  struct DryRun {     // what dry-run policies alone would decide (never enforced)
    bool present = false;
    Verdict verdict = Verdict::Allow;
    RuleRef rule;
  } dry_run;
};

// Connection-time authorization. For Transport::Opaque rules that need HTTP attributes follow
// Istio's TCP semantics: such an ALLOW rule never matches; such a DENY (or AUDIT) rule matches
// on its L4 part alone. For Transport::Http the verdict is final when L4 attributes decide it,
// and PerRequest otherwise (call authorize_request for each request).
AuthzDecision authorize_connection(const CompiledPolicy& policy, const ConnectionAttrs& conn, Transport transport);
// Request-time authorization: every attribute is known, the verdict is Allow or Deny.
AuthzDecision authorize_request(const CompiledPolicy& policy, const ConnectionAttrs& conn, const RequestAttrs& req);
// Peer authentication of a destination (null: not a workload → the mesh-wide mode).
MtlsDecision peer_authentication(const CompiledPolicy& policy, const Workload* destination, uint16_t port);
// One line for logs and meshctl: "deny: DENY rule 0 of authorization default/x (file:3:1)".
std::string describe(const CompiledPolicy& policy, const AuthzDecision& d);

// Weighted picks draw from the data path's random source (one generator per thread).
using base::RandomSource;
using base::SplitMix64;

enum class RouteOutcome : uint8_t {
  Default,  // no route for the host: send to the host itself (all endpoints, dialled port)
  Matched,  // a rule matched; target is the weighted pick (null for a redirect)
  NoMatch,  // the host has routes but none matched: 404 (HTTP) or close (TCP), as in Istio
};
std::string_view to_string(RouteOutcome o);

struct HttpRouteQuery {
  std::string_view host;  // canonical host: a service FQDN or external host (see resolve_host)
  uint16_t port = 0;      // the port the client dialled
  const RequestAttrs* request = nullptr;
  const Workload* source = nullptr;  // for source_labels / source_namespace matches
  std::string_view gateway = kMeshGateway;
  // The service the client dialled (e.g. services().by_vip(dst)), if known: on the mesh its
  // route is then found without hashing the host name.
  const Service* service = nullptr;
};

struct HttpRouteDecision {
  RouteOutcome outcome = RouteOutcome::Default;
  const Route* route = nullptr;
  const HttpRule* rule = nullptr;
  const RouteTarget* target = nullptr;  // null for a redirect, NoMatch and Default
  // The match block that matched (null: the rule has none, or no rule matched); a path
  // rewrite replaces what this block matched (rewrite_path).
  const HttpMatcher* match = nullptr;
  // What to do to the request: the rule's compiled actions, or default_route_actions() for
  // Default and NoMatch. Never null.
  const RouteActions* actions = &default_route_actions();
  const Mirror* mirror = nullptr;  // the rule's mirror, if any
};

struct TcpRouteQuery {
  std::string_view host;
  uint16_t port = 0;
  base::IpAddr destination_ip;
  const Workload* source = nullptr;
  std::string_view gateway = kMeshGateway;
};

struct TcpRouteDecision {
  RouteOutcome outcome = RouteOutcome::Default;
  const Route* route = nullptr;
  const TcpRule* rule = nullptr;
  const RouteTarget* target = nullptr;
};

HttpRouteDecision select_http_route(const CompiledPolicy& policy, const HttpRouteQuery& q, RandomSource& random);
TcpRouteDecision select_tcp_route(const CompiledPolicy& policy, const TcpRouteQuery& q, RandomSource& random);
// Whether one rule matches (used by select_http_route and by explain).
bool http_rule_matches(const HttpRule& rule, const HttpRouteQuery& q);
// The traffic policy of a host reached without a route target (the Default outcome): its
// destination's top-level policy, else default_traffic_policy(). Never null.
const TrafficPolicy& host_traffic_policy(const CompiledPolicy& policy, std::string_view host);
// The retry policy of the Default outcome: Istio's (2 retries on connect-failure,
// refused-stream, unavailable, cancelled and 503).
const RetryPolicy& default_retry_policy();

}  // namespace mesh::policy
