// Decoder for [[destination]] (≈ Istio DestinationRule): the host, its traffic policy (load
// balancer, connection pool, outlier detection, client TLS) and subsets by labels, each of
// which may replace parts of the traffic policy.
#include <array>

#include <fmt/format.h>

#include "policy/toml/decode.hpp"

namespace mesh::policy::toml_codec {
namespace {

using model::LbPolicy;

bool subset_name_ok(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

std::optional<model::ConsistentHash> decode_hash(TableReader& parent) {
  const toml::table* t = parent.table("consistent_hash");
  if (!t) return std::nullopt;
  TableReader r(parent.ctx(), *t, parent.sub("consistent_hash"));
  model::ConsistentHash h;
  int keys = 0;
  if (r.get("http_header_name", h.name)) ++keys, h.key = model::ConsistentHash::Key::Header;
  if (r.get("http_query_parameter_name", h.name)) ++keys, h.key = model::ConsistentHash::Key::QueryParameter;
  bool source_ip = false;
  if (r.get("use_source_ip", source_ip) && source_ip) ++keys, h.key = model::ConsistentHash::Key::SourceIp;
  if (const toml::table* c = r.table("http_cookie")) {
    TableReader cr(r.ctx(), *c, r.sub("http_cookie"));
    ++keys, h.key = model::ConsistentHash::Key::Cookie;
    if (cr.require("name")) cr.get("name", h.name);
    cr.get("path", h.cookie_path);
    cr.get_duration("ttl", h.cookie_ttl);
    cr.finish();
  }
  if (const toml::table* rh = r.table("ring_hash")) {
    TableReader rr(r.ctx(), *rh, r.sub("ring_hash"));
    uint32_t size = 1024;
    if (rr.get_u32("minimum_ring_size", size, 1, 8u << 20)) h.minimum_ring_size = size;
    rr.finish();
  }
  if (const toml::table* mg = r.table("maglev")) {
    TableReader mr(r.ctx(), *mg, r.sub("maglev"));
    h.algorithm = model::ConsistentHash::Algorithm::Maglev;
    uint32_t size = 65537;
    if (mr.get_u32("table_size", size, 1, 5000011)) h.table_size = size;
    mr.finish();
  }
  r.finish();
  if (keys != 1) {
    r.ctx().diags.error(r.loc(), fmt::format("{}: give exactly one of http_header_name, http_cookie, "
                                             "use_source_ip = true, http_query_parameter_name", r.path()));
  }
  return h;
}

std::optional<model::LoadBalancer> decode_lb(TableReader& parent) {
  const toml::table* t = parent.table("load_balancer");
  if (!t) return std::nullopt;
  TableReader r(parent.ctx(), *t, parent.sub("load_balancer"));
  model::LoadBalancer lb;
  lb.loc = r.loc();
  // least_conn is Istio's deprecated alias of least_request; peak_ewma is Linkerd's balancer.
  static constexpr std::array<EnumName<LbPolicy>, 6> kPolicies{{{"round_robin", LbPolicy::RoundRobin},
      {"least_request", LbPolicy::LeastRequest}, {"least_conn", LbPolicy::LeastRequest}, {"random", LbPolicy::Random},
      {"passthrough", LbPolicy::Passthrough}, {"peak_ewma", LbPolicy::PeakEwma}}};
  r.get_enum<LbPolicy>("simple", lb.simple, kPolicies);
  lb.consistent_hash = decode_hash(r);
  r.finish();
  if (lb.simple != LbPolicy::Unspecified && lb.consistent_hash) {
    r.ctx().diags.error(lb.loc, fmt::format("{}: set either simple or consistent_hash, not both", r.path()));
  }
  return lb;
}

std::optional<model::ConnectionPool> decode_pool(TableReader& parent) {
  const toml::table* t = parent.table("connection_pool");
  if (!t) return std::nullopt;
  TableReader r(parent.ctx(), *t, parent.sub("connection_pool"));
  model::ConnectionPool p;
  p.loc = r.loc();
  if (const toml::table* tcp = r.table("tcp")) {
    TableReader tr(r.ctx(), *tcp, r.sub("tcp"));
    tr.get_u32("max_connections", p.max_connections, 1);
    tr.get_duration("connect_timeout", p.connect_timeout);
    tr.get_duration("idle_timeout", p.tcp_idle_timeout);
    tr.get_duration("max_connection_duration", p.max_connection_duration);
    tr.finish();
  }
  if (const toml::table* http = r.table("http")) {
    TableReader hr(r.ctx(), *http, r.sub("http"));
    hr.get_u32("http1_max_pending_requests", p.http1_max_pending_requests, 1);
    hr.get_u32("http2_max_requests", p.http2_max_requests, 1);
    hr.get_u32("max_requests_per_connection", p.max_requests_per_connection);
    hr.get_u32("max_retries", p.max_retries);
    hr.get_duration("idle_timeout", p.http_idle_timeout);
    hr.get_u32("max_concurrent_streams", p.max_concurrent_streams, 1, INT32_MAX);
    hr.finish();
  }
  r.finish();
  return p;
}

std::optional<model::OutlierDetection> decode_outlier(TableReader& parent) {
  const toml::table* t = parent.table("outlier_detection");
  if (!t) return std::nullopt;
  TableReader r(parent.ctx(), *t, parent.sub("outlier_detection"));
  model::OutlierDetection o;
  o.loc = r.loc();
  r.get_u32("consecutive_5xx_errors", o.consecutive_5xx_errors);
  r.get_u32("consecutive_gateway_errors", o.consecutive_gateway_errors);
  r.get_u32("consecutive_local_origin_failures", o.consecutive_local_origin_failures);
  r.get("split_external_local_origin_errors", o.split_external_local_origin_errors);
  if (r.get_duration("interval", o.interval) && o.interval < std::chrono::milliseconds(1)) {
    r.error_at(*r.take("interval"), "interval", "must be at least 1ms");
  }
  if (r.get_duration("base_ejection_time", o.base_ejection_time) && o.base_ejection_time < std::chrono::milliseconds(1)) {
    r.error_at(*r.take("base_ejection_time"), "base_ejection_time", "must be at least 1ms");
  }
  r.get_u32("max_ejection_percent", o.max_ejection_percent, 0, 100);
  r.get_u32("min_health_percent", o.min_health_percent, 0, 100);
  r.finish();
  return o;
}

std::optional<model::ClientTls> decode_client_tls(TableReader& parent) {
  const toml::table* t = parent.table("tls");
  if (!t) return std::nullopt;
  TableReader r(parent.ctx(), *t, parent.sub("tls"));
  model::ClientTls tls;
  tls.loc = r.loc();
  using M = model::ClientTlsMode;
  static constexpr std::array<EnumName<M>, 4> kModes{{{"disable", M::Disable}, {"simple", M::Simple},
                                                      {"mutual", M::Mutual}, {"istio_mutual", M::IstioMutual}}};
  if (r.require("mode")) r.get_enum<M>("mode", tls.mode, kModes);
  r.get("client_certificate", tls.client_certificate);
  r.get("private_key", tls.private_key);
  r.get("ca_certificates", tls.ca_certificates);
  r.get("sni", tls.sni);
  r.get_strings("subject_alt_names", tls.subject_alt_names);
  r.get("insecure_skip_verify", tls.insecure_skip_verify);
  r.finish();
  if (tls.mode == M::Mutual && (tls.client_certificate.empty() || tls.private_key.empty())) {
    r.ctx().diags.error(tls.loc, fmt::format("{}: mode \"mutual\" needs client_certificate and private_key", r.path()));
  }
  return tls;
}

model::TrafficPolicy decode_traffic_policy(TableReader& r) {
  model::TrafficPolicy p;
  p.load_balancer = decode_lb(r);
  p.connection_pool = decode_pool(r);
  p.outlier_detection = decode_outlier(r);
  p.tls = decode_client_tls(r);
  return p;
}

}  // namespace

model::DestinationRule decode_destination(TableReader& r) {
  model::DestinationRule d;
  decode_meta(r, d.meta);
  if (r.require("host") && r.get("host", d.host.value)) {
    d.host.loc = r.ctx().loc(*r.take("host"));
    check_host(r, "host", d.host, false);
  }
  d.traffic_policy = decode_traffic_policy(r);
  r.each_table("subsets", 1024, "(subsets per destination)", [&](TableReader& sr) {
    model::Subset s;
    s.loc = sr.loc();
    if (sr.require("name") && sr.get("name", s.name) && !subset_name_ok(s.name)) {
      sr.error_at(*sr.take("name"), "name", "a subset name uses letters, digits, '-' and '_'");
    }
    if (sr.require("labels")) sr.get_labels("labels", s.labels);
    s.traffic_policy = decode_traffic_policy(sr);
    sr.finish();
    for (const auto& other : d.subsets) {
      if (other.name == s.name && !s.name.empty()) {
        sr.ctx().diags.error(s.loc, fmt::format("{}: subset '{}' is defined twice", sr.path(), s.name));
      }
    }
    d.subsets.push_back(std::move(s));
  });
  r.finish();
  return d;
}

}  // namespace mesh::policy::toml_codec
