// Decoders for the inventory tables: [[workload]], [[service]], [[external]], [[gateway]],
// [telemetry], and the helpers the other decoders share.
#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "daemon/base/strings.hpp"
#include "policy/names.hpp"
#include "policy/toml/decode.hpp"

namespace mesh::policy::toml_codec {
namespace {

using model::Protocol;

constexpr std::array<EnumName<Protocol>, 6> kProtocols{{
    {"tcp", Protocol::Tcp}, {"http", Protocol::Http}, {"http2", Protocol::Http2},
    {"grpc", Protocol::Grpc}, {"tls", Protocol::Tls}, {"https", Protocol::Https},
}};

// Istio's port naming convention: "http", "http-web", "grpc-api", ... name the protocol.
Protocol protocol_from_port_name(std::string_view name) {
  std::string_view prefix = name.substr(0, name.find('-'));
  for (const auto& p : kProtocols)
    if (p.name == prefix) return p.value;
  return Protocol::Unspecified;
}

bool decode_addresses(TableReader& r, std::string_view key, std::vector<base::IpAddr>& out, SourceLoc& loc) {
  std::vector<model::Located<std::string>> texts;
  if (!r.get_located_strings(key, texts)) return false;
  bool ok = true;
  for (const auto& t : texts) {
    auto ip = base::IpAddr::parse(t.value);
    if (!ip) {
      r.ctx().diags.error(t.loc, fmt::format("{}: invalid IP address '{}'", r.sub(key), t.value));
      ok = false;
    } else {
      out.push_back(*ip);
    }
  }
  if (!texts.empty()) loc = texts.front().loc;
  return ok;
}

}  // namespace

void decode_meta(TableReader& r, model::Meta& meta) {
  meta.loc = r.loc();
  if (r.require("name") && r.get("name", meta.name) && !is_dns_subdomain(meta.name)) {
    r.error_at(*r.take("name"), "name",
               fmt::format("'{}' is not a valid name: use lowercase letters, digits, '-' and '.'", meta.name));
  }
  if (r.get("namespace", meta.ns) && !is_dns_label(meta.ns)) {
    r.error_at(*r.take("namespace"), "namespace",
               fmt::format("'{}' is not a valid namespace: use lowercase letters, digits and '-' "
                           "(at most 63)", meta.ns));
  }
}

bool check_host(TableReader& r, std::string_view key, model::Located<std::string>& host, bool allow_wildcard) {
  std::transform(host.value.begin(), host.value.end(), host.value.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (is_host_pattern(host.value, allow_wildcard)) return true;
  r.ctx().diags.error(host.loc, fmt::format("{}: '{}' is not a valid host name{}", r.sub(key), host.value,
                                            allow_wildcard ? " (a leading \"*.\" wildcard is allowed)" : ""));
  return false;
}

bool decode_protocol(TableReader& r, std::string_view key, Protocol& out) {
  return r.get_enum<Protocol>(key, out, kProtocols);
}

bool decode_ports(TableReader& r, std::string_view key, std::vector<model::ServicePort>& out) {
  return r.each_table(key, 1024, "(ports per resource)", [&](TableReader& pr) {
    model::ServicePort p;
    p.loc = pr.loc();
    if (pr.require("port")) pr.get_port("port", p.port);
    pr.get_port("target_port", p.target_port);
    pr.get("name", p.name);
    if (!decode_protocol(pr, "protocol", p.protocol)) p.protocol = protocol_from_port_name(p.name);
    pr.finish();
    for (const auto& other : out) {
      if (other.port == p.port && p.port != 0) {
        r.ctx().diags.error(p.loc, fmt::format("{}: port {} is listed twice", r.sub(key), p.port));
      }
    }
    out.push_back(std::move(p));
  });
}

bool decode_cidrs(TableReader& r, std::string_view key, std::vector<base::Cidr>& out) {
  std::vector<model::Located<std::string>> texts;
  if (!r.get_located_strings(key, texts)) return false;
  bool ok = true;
  for (const auto& t : texts) {
    auto c = base::Cidr::parse(t.value);
    if (!c) {
      r.ctx().diags.error(t.loc, fmt::format("{}: invalid CIDR or IP address '{}'", r.sub(key), t.value));
      ok = false;
    } else {
      out.push_back(*c);
    }
  }
  return ok;
}

model::Workload decode_workload(TableReader& r) {
  model::Workload w;
  decode_meta(r, w.meta);
  if (r.get("service_account", w.service_account) && !is_dns_subdomain(w.service_account)) {
    r.error_at(*r.take("service_account"), "service_account",
               fmt::format("'{}' is not a valid service account name", w.service_account));
  }
  decode_addresses(r, "addresses", w.addresses, w.addresses_loc);
  r.get_labels("labels", w.labels);
  r.get("node", w.node);
  static constexpr std::array<EnumName<model::WorkloadProtocol>, 2> kModes{{
      {"hbone", model::WorkloadProtocol::Hbone}, {"tcp", model::WorkloadProtocol::Tcp}}};
  r.get_enum<model::WorkloadProtocol>("protocol", w.protocol, kModes);
  r.finish();
  return w;
}

model::Service decode_service(TableReader& r) {
  model::Service s;
  decode_meta(r, s.meta);
  if (!s.meta.name.empty() && !is_dns_label(s.meta.name)) {
    r.error_at(*r.take("name"), "name", "a service name must be a DNS label (no '.')");
  }
  decode_addresses(r, "vips", s.vips, s.vips_loc);
  decode_ports(r, "ports", s.ports);
  model::Labels selector;
  if (r.get_labels("selector", selector)) s.selector = std::move(selector);
  r.finish();
  return s;
}

model::External decode_external(TableReader& r) {
  model::External e;
  decode_meta(r, e.meta);
  if (r.require("hosts") && r.get_located_strings("hosts", e.hosts)) {
    for (auto& h : e.hosts) check_host(r, "hosts", h, true);
    if (e.hosts.empty()) r.error_at(*r.take("hosts"), "hosts", "at least one host is required");
  }
  decode_cidrs(r, "addresses", e.addresses);
  if (r.require("ports")) decode_ports(r, "ports", e.ports);
  static constexpr std::array<EnumName<model::Resolution>, 4> kRes{{{"none", model::Resolution::None},
      {"static", model::Resolution::Static}, {"dns", model::Resolution::Dns},
      {"dns_round_robin", model::Resolution::DnsRoundRobin}}};
  r.get_enum<model::Resolution>("resolution", e.resolution, kRes);
  static constexpr std::array<EnumName<model::MeshLocation>, 2> kLoc{{
      {"mesh_external", model::MeshLocation::External}, {"mesh_internal", model::MeshLocation::Internal}}};
  r.get_enum<model::MeshLocation>("location", e.location, kLoc);
  r.each_table("endpoints", r.ctx().limits.max_list_items, "max_list_items", [&](TableReader& er) {
    model::ExternalEndpoint ep;
    ep.loc = er.loc();
    if (er.require("address")) er.get("address", ep.address);
    er.get_labels("labels", ep.labels);
    er.get_u32("weight", ep.weight, 1, 1u << 20);
    er.finish();
    e.endpoints.push_back(std::move(ep));
  });
  if (e.resolution == model::Resolution::Static && e.endpoints.empty() && e.addresses.empty() &&
      !r.ctx().diags.full()) {
    r.ctx().diags.error(e.meta.loc, fmt::format("{}: resolution \"static\" needs endpoints or addresses", r.path()));
  }
  r.finish();
  return e;
}

namespace {

std::optional<model::ServerTls> decode_server_tls(TableReader& parent) {
  const toml::table* t = parent.table("tls");
  if (!t) return std::nullopt;
  TableReader r(parent.ctx(), *t, parent.sub("tls"));
  model::ServerTls tls;
  tls.loc = r.loc();
  using M = model::ServerTlsMode;
  static constexpr std::array<EnumName<M>, 5> kModes{{{"passthrough", M::Passthrough}, {"simple", M::Simple},
      {"mutual", M::Mutual}, {"auto_passthrough", M::AutoPassthrough}, {"istio_mutual", M::IstioMutual}}};
  const bool mode_set = r.get_enum<M>("mode", tls.mode, kModes);
  r.get("https_redirect", tls.https_redirect);
  r.get("credential_name", tls.credential_name);
  r.get("server_certificate", tls.server_certificate);
  r.get("private_key", tls.private_key);
  r.get("ca_certificates", tls.ca_certificates);
  static constexpr std::array<EnumName<std::string_view>, 2> kVersions{{{"TLSV1_2", "TLSV1_2"}, {"TLSV1_3", "TLSV1_3"}}};
  std::string_view version;
  if (r.get_enum<std::string_view>("min_protocol_version", version, kVersions)) tls.min_protocol_version = version;
  r.get_strings("subject_alt_names", tls.subject_alt_names);
  r.finish();
  // A plain-HTTP server that only redirects to HTTPS (Istio's httpsRedirect) needs no certificate.
  const bool redirect_only = tls.https_redirect && !mode_set;
  const bool needs_cert = !redirect_only && (tls.mode == M::Simple || tls.mode == M::Mutual);
  const bool has_files = !tls.server_certificate.empty() || !tls.private_key.empty();
  if (needs_cert && tls.credential_name.empty() && (tls.server_certificate.empty() || tls.private_key.empty())) {
    r.ctx().diags.error(tls.loc, fmt::format("{}: mode \"{}\" needs credential_name, or server_certificate and "
                                             "private_key", r.path(), tls.mode == M::Simple ? "simple" : "mutual"));
  }
  if (tls.mode == M::Mutual && tls.credential_name.empty() && tls.ca_certificates.empty()) {
    r.ctx().diags.error(tls.loc, fmt::format("{}: mode \"mutual\" needs ca_certificates (or a credential_name "
                                             "that includes the CA)", r.path()));
  }
  if (!tls.credential_name.empty() && has_files) {
    r.ctx().diags.error(tls.loc, fmt::format("{}: set either credential_name or certificate files, not both", r.path()));
  }
  return tls;
}

}  // namespace

model::Gateway decode_gateway(TableReader& r) {
  model::Gateway g;
  decode_meta(r, g.meta);
  if (r.require("selector")) r.get_labels("selector", g.selector);
  const toml::array* servers = r.require("servers") ? r.table_array("servers", 1024, "(servers per gateway)") : nullptr;
  if (!servers) r.take("servers");
  for (size_t i = 0; servers && i < servers->size(); ++i) {
    const toml::node& n = *servers->get(i);
    TableReader sr(r.ctx(), *n.as_table(), r.sub("servers"));
    model::GatewayServer s;
    s.loc = sr.loc();
    if (sr.require("port")) sr.get_port("port", s.port);
    sr.get("name", s.port_name);
    if (sr.require("protocol")) decode_protocol(sr, "protocol", s.protocol);
    if (sr.require("hosts") && sr.get_located_strings("hosts", s.hosts)) {
      for (auto& h : s.hosts) {
        // "namespace/host" selects the routes of one namespace; the host part is what is matched.
        size_t slash = h.value.find('/');
        model::Located<std::string> host{slash == std::string::npos ? h.value : h.value.substr(slash + 1), h.loc};
        if (check_host(sr, "hosts", host, true) && slash != std::string::npos) {
          h.value = h.value.substr(0, slash + 1) + host.value;
        } else if (slash == std::string::npos) {
          h.value = host.value;
        }
      }
    }
    s.tls = decode_server_tls(sr);
    sr.get("bind", s.bind);
    sr.finish();
    const bool tls_protocol = s.protocol == model::Protocol::Https || s.protocol == model::Protocol::Tls;
    if (tls_protocol && !s.tls) {
      r.ctx().diags.error(s.loc, fmt::format("{}: protocol \"{}\" needs a tls table", sr.path(), to_string(s.protocol)));
    }
    g.servers.push_back(std::move(s));
  }
  r.finish();
  return g;
}

model::Telemetry decode_telemetry(TableReader& r) {
  model::Telemetry t;
  t.loc = r.loc();
  if (const toml::table* a = r.table("access_log")) {
    TableReader ar(r.ctx(), *a, r.sub("access_log"));
    ar.get("enabled", t.access_log.enabled);
    static constexpr std::array<EnumName<std::string_view>, 2> kFormats{{{"json", "json"}, {"text", "text"}}};
    std::string_view format;
    if (ar.get_enum<std::string_view>("format", format, kFormats)) t.access_log.format = format;
    ar.get("path", t.access_log.path);
    ar.get("sampling", t.access_log.sampling, 0, 100);
    ar.finish();
  }
  if (const toml::table* tr = r.table("tracing")) {
    TableReader rr(r.ctx(), *tr, r.sub("tracing"));
    rr.get("enabled", t.tracing.enabled);
    static constexpr std::array<EnumName<std::string_view>, 2> kProviders{{{"zipkin", "zipkin"}, {"otlp", "otlp"}}};
    std::string_view provider;
    if (rr.get_enum<std::string_view>("provider", provider, kProviders)) t.tracing.provider = provider;
    rr.get("endpoint", t.tracing.endpoint);
    rr.get("sampling", t.tracing.sampling, 0, 100);
    rr.finish();
    if (t.tracing.enabled && t.tracing.endpoint.empty()) {
      r.ctx().diags.error(rr.loc(), fmt::format("{}: enabled tracing needs an endpoint", rr.path()));
    }
  }
  if (const toml::table* m = r.table("metrics")) {
    TableReader mr(r.ctx(), *m, r.sub("metrics"));
    mr.get("enabled", t.metrics.enabled);
    static constexpr std::array<std::string_view, 8> kMetrics{
        "istio_requests_total", "istio_request_duration_milliseconds", "istio_request_bytes",
        "istio_response_bytes", "istio_tcp_connections_opened_total", "istio_tcp_connections_closed_total",
        "istio_tcp_sent_bytes_total", "istio_tcp_received_bytes_total"};
    std::vector<model::Located<std::string>> names;
    if (mr.get_located_strings("disabled", names)) {
      for (auto& n : names) {
        if (std::find(kMetrics.begin(), kMetrics.end(), n.value) == kMetrics.end()) {
          std::string msg = fmt::format("{}: unknown metric '{}'", mr.sub("disabled"), n.value);
          if (auto near = base::closest_match(n.value, kMetrics)) msg += fmt::format("; did you mean '{}'?", *near);
          r.ctx().diags.error(n.loc, std::move(msg));
        } else {
          t.metrics.disabled.push_back(std::move(n.value));
        }
      }
    }
    mr.finish();
  }
  r.finish();
  return t;
}

}  // namespace mesh::policy::toml_codec
