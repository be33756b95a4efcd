#include "daemon/proxy/http/outbound_route.hpp"

#include "daemon/upstream/hash.hpp"
#include "policy/route_actions.hpp"
#include "tunnel/http/path_normalize.hpp"

namespace mesh::proxy {

OutboundRoute route_outbound(const policy::CompiledPolicy& p, const policy::Service& dialled, uint16_t port,
                             const tunnel::http::RequestHead& head, const policy::Workload* source,
                             base::RandomSource& random) {
  thread_local std::vector<policy::Header> headers;
  headers.clear();
  for (const auto& h : head.headers) headers.push_back({h.name, h.value});
  policy::RequestAttrs req{head.method, head.path, head.authority, head.scheme.empty() ? std::string_view("http") : std::string_view(head.scheme), headers};
  policy::HttpRouteQuery q;
  q.host = dialled.hostname;
  q.port = port;
  q.request = &req;
  q.source = source;
  q.service = &dialled;
  OutboundRoute r;
  r.decision = policy::select_http_route(p, q, random);
  const policy::HttpRouteDecision& d = r.decision;
  switch (d.outcome) {
    case policy::RouteOutcome::NoMatch:
      r.verdict = OutboundRoute::Verdict::NotFound;
      return r;
    case policy::RouteOutcome::Matched:
      if (d.actions->redirect) {
        r.verdict = OutboundRoute::Verdict::Redirect;
        r.redirect_code = d.actions->redirect->code;
        r.location = policy::redirect_location(*d.actions->redirect, req.scheme, head.authority, head.path);
        return r;
      }
      if (d.target == nullptr || d.target->service == nullptr) {
        r.verdict = OutboundRoute::Verdict::NoEndpoint;  // external hosts are not reached from here yet
        return r;
      }
      r.service = d.target->service;
      r.endpoints = d.target->subset ? &d.target->subset->endpoints : &r.service->endpoints;
      r.service_port = d.target->port != 0 ? d.target->port : port;
      r.traffic = d.target->traffic_policy;
      r.cluster = d.target->cluster.empty() ? policy::cluster_key(*d.target, port) : d.target->cluster;
      break;
    case policy::RouteOutcome::Default:
      r.service = &dialled;
      r.endpoints = &dialled.endpoints;
      r.service_port = port;
      r.traffic = &policy::host_traffic_policy(p, dialled.hostname);
      r.cluster = policy::cluster_key(dialled.hostname, "", port);
      break;
  }
  const policy::model::ServicePort* sp = r.service->port(r.service_port);
  if (sp == nullptr || r.endpoints->empty()) {
    r.verdict = OutboundRoute::Verdict::NoEndpoint;
    return r;
  }
  r.target_port = sp->target_port != 0 ? sp->target_port : sp->port;
  return r;
}

upstream::LbConfig lb_config_for(const policy::TrafficPolicy& t) {
  using policy::model::LbPolicy;
  upstream::LbConfig c;
  const auto& lb = t.load_balancer;
  if (lb.consistent_hash) {
    c.kind = upstream::LbKind::ConsistentHash;
    const auto& ch = *lb.consistent_hash;
    c.hash_algorithm = ch.algorithm == policy::model::ConsistentHash::Algorithm::Maglev ? upstream::HashAlgorithm::Maglev
                                                                                          : upstream::HashAlgorithm::RingHash;
    c.ring_hash.minimum_ring_size = ch.minimum_ring_size;
    c.maglev.table_size = ch.table_size;
    return c;
  }
  switch (lb.simple) {
    case LbPolicy::RoundRobin: c.kind = upstream::LbKind::RoundRobin; break;
    case LbPolicy::Random: c.kind = upstream::LbKind::Random; break;
    case LbPolicy::Passthrough: c.kind = upstream::LbKind::Passthrough; break;
    case LbPolicy::PeakEwma: c.kind = upstream::LbKind::PeakEwma; break;
    case LbPolicy::LeastRequest:
    case LbPolicy::Unspecified: c.kind = upstream::LbKind::LeastRequest; break;
  }
  return c;
}

namespace {

// The value of `name` in a Cookie header ("a=1; b=2").
std::optional<std::string_view> cookie_value(const tunnel::http::HeaderMap& headers, std::string_view name) {
  for (std::string_view line : headers.get_all("cookie")) {
    while (!line.empty()) {
      size_t end = line.find(';');
      std::string_view pair = line.substr(0, end);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      size_t eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
      if (end == std::string_view::npos) break;
      line.remove_prefix(end + 1);
    }
  }
  return std::nullopt;
}

std::optional<std::string_view> query_value(std::string_view path, std::string_view name) {
  size_t q = path.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = path.substr(q + 1);
  while (!rest.empty()) {
    size_t end = rest.find('&');
    std::string_view pair = rest.substr(0, end);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return std::nullopt;
}

}  // namespace

std::optional<uint64_t> hash_key(const policy::TrafficPolicy& t, const tunnel::http::RequestHead& head,
                                 const base::IpAddr& source) {
  if (!t.load_balancer.consistent_hash) return std::nullopt;
  const auto& ch = *t.load_balancer.consistent_hash;
  using Key = policy::model::ConsistentHash::Key;
  switch (ch.key) {
    case Key::Header: {
      const std::string* v = head.headers.get(ch.name);
      if (v == nullptr) return std::nullopt;
      return upstream::xxhash64(*v);
    }
    case Key::Cookie: {
      auto v = cookie_value(head.headers, ch.name);
      if (!v) return std::nullopt;
      return upstream::xxhash64(*v);
    }
    case Key::QueryParameter: {
      auto v = query_value(head.path, ch.name);
      if (!v) return std::nullopt;
      return upstream::xxhash64(*v);
    }
    case Key::SourceIp:
      return upstream::xxhash64(source.to_string());
  }
  return std::nullopt;
}

}  // namespace mesh::proxy
