#pragma once
// explain(): answers "what happens to this connection or request from X to Y, and which
// rules decide it" against one CompiledPolicy, for `meshctl policy explain` (offline on files)
// and for the daemon's admin API (live, on the running snapshot). It resolves the source and
// destination the way a user names them, selects the route deterministically (listing every
// weighted destination instead of picking one), and authorizes the connection or request at
// each endpoint those destinations lead to. The Explanation points into the snapshot; render
// it with to_text() or to_json() while the snapshot is alive. Pure; any thread.
#include <string>
#include <utility>
#include <vector>

#include "daemon/base/result.hpp"
#include "policy/compiled.hpp"
#include "policy/engine.hpp"

namespace mesh::policy {

struct ExplainQuery {
  std::string from;  // SPIFFE ID, workload ("ns/name" or a unique "name") or IP address
  std::string to;    // "<host>:<port>": service or external host, workload "ns/name", or IP
  std::string method;  // any of method, path, headers makes it an HTTP request
  std::string path;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string gateway;  // "ns/name": the request enters through this gateway (to = its host)
};

struct ExplainedEndpoint {
  const Workload* workload = nullptr;
  uint16_t port = 0;  // the workload port (a service port's target port)
  AuthzDecision decision;
};

struct ExplainedTarget {
  std::string host;
  const Subset* subset = nullptr;
  uint16_t port = 0;
  uint32_t weight = 100;
  std::string cluster;                       // cluster_key() for the dialled port
  bool mesh = true;                          // false: external, no workload-side authorization
  std::vector<ExplainedEndpoint> endpoints;  // the first kMaxEndpoints
  size_t endpoints_total = 0;
  size_t endpoints_allowed = 0;
};

struct Explanation {
  static constexpr size_t kMaxEndpoints = 16;

  std::string client;           // with a gateway: the --from it was given (the outside client)
  std::string source_identity;  // empty: plaintext
  const Workload* source = nullptr;
  base::IpAddr source_ip;
  std::string host;  // canonical destination host, or the workload id
  uint16_t port = 0;
  const Service* service = nullptr;
  const External* external = nullptr;
  const Workload* workload = nullptr;  // a workload addressed directly
  const Gateway* gateway = nullptr;    // the gateway the request enters through
  const model::GatewayServer* server = nullptr;
  model::Protocol protocol = model::Protocol::Unspecified;
  bool http = false;  // evaluated as an HTTP request
  std::string method, path;
  std::vector<std::pair<std::string, std::string>> headers;
  RouteOutcome outcome = RouteOutcome::Default;
  const Route* route = nullptr;
  const HttpRule* http_rule = nullptr;
  const HttpMatcher* http_match = nullptr;  // the block of http_rule that matched, if it has blocks
  const TcpRule* tcp_rule = nullptr;
  // What http_rule's actions make of this request: the :path forwarded (after any rewrite)
  // and, for a redirect, the Location answered.
  std::string forwarded_path;
  std::string location;
  std::vector<ExplainedTarget> targets;
  std::string decision;  // "allow", "deny", "partial", "per-request", "no route", "no endpoints", "redirect"
};

base::Result<Explanation> explain(const CompiledPolicy& policy, const ExplainQuery& query);
std::string to_text(const CompiledPolicy& policy, const Explanation& e);
std::string to_json(const CompiledPolicy& policy, const Explanation& e);  // pretty-printed

}  // namespace mesh::policy
