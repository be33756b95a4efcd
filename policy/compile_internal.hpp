#pragma once
// The compiler's working state, shared by the compile_*.cpp files. Internal to the policy
// library: each pass reads the model, reports problems and fills one part of the
// CompiledPolicy, in an order that lets later passes point into earlier tables (inventory,
// then destinations, then routes, then security).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/compiled.hpp"
#include "policy/diagnostic.hpp"

namespace mesh::policy::detail {

using model::labels_match;

class Compiler {
 public:
  Compiler(CompiledPolicy& out, Diagnostics& diags);
  void run();

 private:
  // compile_inventory.cpp
  void workloads();
  void services();
  void externals();
  void gateways();
  // compile_traffic.cpp
  void destinations();
  TrafficPolicy traffic_policy(const model::TrafficPolicy& own, const TrafficPolicy* parent) const;
  // compile_route.cpp
  void routes();
  void route(const model::Route& spec, uint32_t index);
  std::vector<std::string> route_gateways(const model::Route& spec);
  void bind_hosts(const model::Route& spec, const std::vector<std::string>& gateways, uint32_t index);
  HttpRule http_rule(const model::Route& route, const model::HttpRule& spec, uint32_t index);
  TcpRule tcp_rule(const model::Route& route, const model::TcpRule& spec, uint32_t index);
  std::optional<RouteTarget> target(const model::RouteDestination& d, std::string_view ns);
  bool targets(const std::vector<model::RouteDestination>& in, std::string_view ns, SourceLoc rule_loc,
               std::vector<RouteTarget>& out, std::vector<uint32_t>& cumulative);
  HttpMatcher http_matcher(const model::HttpMatch& m);
  std::optional<StringMatcher> string_matcher(const model::StringMatch& m, bool ignore_case);
  RetryPolicy retry_policy(const model::HttpRule& spec);
  RouteActions route_actions(const model::HttpRule& spec);
  HeaderOps header_ops(const model::HeaderOps& in, SourceLoc loc, std::string_view what);
  // Points each service at its mesh route and destination (compile.cpp), once both tables
  // are complete.
  void link();
  // compile_security.cpp
  void authorizations();
  AuthzRule authz_rule(const model::AuthzRule& spec);
  void peer_authentications();

  // Shared helpers (compile.cpp).
  // Records a duplicate-name error and returns false when `id` was seen before.
  bool unique(StringMap<SourceLoc>& seen, const std::string& id, SourceLoc loc, std::string_view kind);
  // Workloads whose labels include all of `selector`'s, in namespace `ns` (any when null).
  std::vector<uint32_t> select(const model::Labels& selector, const std::string* ns) const;
  HostRef resolve(const model::Located<std::string>& host, std::string_view ns, std::string_view what);
  std::string where(SourceLoc loc) const { return p_.where(loc); }

  CompiledPolicy& p_;
  Diagnostics& d_;
  const model::PolicySet& src_;
  const CompileOptions& opt_;
  StringMap<std::vector<uint32_t>> by_label_;  // "ns/key=value" and "*/key=value" -> workloads
  StringMap<std::vector<uint32_t>> by_ns_;     // namespace -> workloads
};

}  // namespace mesh::policy::detail
