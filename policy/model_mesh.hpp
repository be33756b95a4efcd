#pragma once
// The inventory half of the mesh model: workloads (≈ Pod / WorkloadEntry), services
// (≈ Service), external services (≈ ServiceEntry), gateways (≈ Gateway) and the telemetry
// settings (≈ Telemetry). Plain values decoded from TOML.
#include <optional>
#include <utility>
#include <vector>

#include "daemon/base/clock.hpp"
#include "daemon/base/socket_addr.hpp"
#include "policy/model_common.hpp"

namespace mesh::policy::model {

// HBONE: the workload is enrolled and accepts mTLS tunnels on 15008. Tcp: not captured;
// traffic to it leaves the node as plain TCP (ztunnel's "protocol: TCP").
enum class WorkloadProtocol : uint8_t { Hbone, Tcp };

struct Workload {
  Meta meta;
  std::string service_account = "default";
  std::vector<base::IpAddr> addresses;
  SourceLoc addresses_loc;
  Labels labels;
  std::string node;
  WorkloadProtocol protocol = WorkloadProtocol::Hbone;
};

struct ServicePort {
  SourceLoc loc;
  uint16_t port = 0;
  uint16_t target_port = 0;  // 0 = same as port
  Protocol protocol = Protocol::Unspecified;
  std::string name;
};

struct Service {
  Meta meta;
  std::vector<base::IpAddr> vips;
  SourceLoc vips_loc;
  std::vector<ServicePort> ports;
  std::optional<Labels> selector;  // absent: no endpoints are derived (like a selector-less Service)
};

enum class Resolution : uint8_t { None, Static, Dns, DnsRoundRobin };
enum class MeshLocation : uint8_t { External, Internal };

struct ExternalEndpoint {
  SourceLoc loc;
  std::string address;  // IP address, or a DNS name with resolution = "dns"
  Labels labels;
  uint32_t weight = 1;
};

struct External {
  Meta meta;
  std::vector<Located<std::string>> hosts;  // lowercase; "*.example.com" allowed
  std::vector<base::Cidr> addresses;
  std::vector<ServicePort> ports;
  Resolution resolution = Resolution::None;
  MeshLocation location = MeshLocation::External;
  std::vector<ExternalEndpoint> endpoints;
};

enum class ServerTlsMode : uint8_t { Passthrough, Simple, Mutual, AutoPassthrough, IstioMutual };

struct ServerTls {
  SourceLoc loc;
  ServerTlsMode mode = ServerTlsMode::Simple;
  bool https_redirect = false;
  std::string credential_name;     // a name the certificate source resolves
  std::string server_certificate;  // PEM file paths, alternative to credential_name
  std::string private_key;
  std::string ca_certificates;
  std::string min_protocol_version;  // "TLSV1_2" or "TLSV1_3"; empty = TLSV1_2
  std::vector<std::string> subject_alt_names;
};

struct GatewayServer {
  SourceLoc loc;
  uint16_t port = 0;
  std::string port_name;
  Protocol protocol = Protocol::Unspecified;
  std::vector<Located<std::string>> hosts;  // "host", "ns/host", "*.example.com", "*"
  std::optional<ServerTls> tls;
  std::string bind;  // optional listen address
};

struct Gateway {
  Meta meta;
  Labels selector;  // the gateway workloads that run these listeners
  std::vector<GatewayServer> servers;
};

struct AccessLog {
  bool enabled = false;
  std::string format = "json";  // "json" or "text" (Envoy's default line)
  std::string path = "/dev/stdout";
  double sampling = 100;  // percent of connections/requests logged
};

struct Tracing {
  bool enabled = false;
  std::string provider = "zipkin";  // "zipkin" or "otlp"
  std::string endpoint;             // collector URL
  double sampling = 1;              // percent; Istio's default is 1 %
};

struct MetricsSettings {
  bool enabled = true;
  std::vector<std::string> disabled;  // Istio metric names to leave out
};

struct Telemetry {
  SourceLoc loc;
  AccessLog access_log;
  Tracing tracing;
  MetricsSettings metrics;
};

}  // namespace mesh::policy::model
