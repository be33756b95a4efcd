// Decoding of [[workload]], [[service]], [[external]], [[gateway]] and [telemetry].
#include "tests/policy/support.hpp"

using mesh::policy::test::decode;
using mesh::policy::test::decode_errors;
namespace model = mesh::policy::model;

TEST_CASE("a workload gets namespace and service account 'default' unless given") {
  auto r = decode("[[workload]]\nname = \"web-1\"\naddresses = [\"198.18.0.1\", \"2001:db8::1\"]\n"
                  "labels = { app = \"web\" }\nnode = \"n1\"\nprotocol = \"tcp\"\n");
  REQUIRE(r.ok());
  const model::Workload& w = r.set.workloads.at(0);
  CHECK(w.meta.ns == "default");
  CHECK(w.service_account == "default");
  CHECK(w.addresses.size() == 2);
  CHECK(w.labels.at("app") == "web");
  CHECK(w.node == "n1");
  CHECK(w.protocol == model::WorkloadProtocol::Tcp);
  CHECK(w.meta.loc.line == 1);
}

TEST_CASE("names and namespaces must be DNS names") {
  CHECK(decode_errors("[[workload]]\nname = \"Web_1\"\n") ==
        "test.toml:2:8: workload.name: 'Web_1' is not a valid name: use lowercase letters, digits, '-' and '.'\n");
  CHECK(decode_errors("[[workload]]\nname = \"w\"\nnamespace = \"a.b\"\n") ==
        "test.toml:3:13: workload.namespace: 'a.b' is not a valid namespace: use lowercase letters, digits and '-' "
        "(at most 63)\n");
  CHECK(decode_errors("[[service]]\nname = \"a.b\"\n") ==
        "test.toml:2:8: service.name: a service name must be a DNS label (no '.')\n");
}

TEST_CASE("an invalid address is reported at the address") {
  CHECK(decode_errors("[[workload]]\nname = \"w\"\naddresses = [\"198.18.0.1\", \"10.0.0.300\"]\n") ==
        "test.toml:3:28: workload.addresses: invalid IP address '10.0.0.300'\n");
}

TEST_CASE("a service port's protocol comes from protocol, else from an Istio-style port name") {
  auto r = decode("[[service]]\nname = \"s\"\nports = [{ port = 80, name = \"http-web\" }, { port = 81, name = \"grpc\" },"
                  " { port = 82, protocol = \"tcp\", name = \"http\" }, { port = 83, name = \"db\" }]\n");
  REQUIRE(r.ok());
  const auto& ports = r.set.services.at(0).ports;
  CHECK(ports[0].protocol == model::Protocol::Http);
  CHECK(ports[1].protocol == model::Protocol::Grpc);
  CHECK(ports[2].protocol == model::Protocol::Tcp);
  CHECK(ports[3].protocol == model::Protocol::Unspecified);
  CHECK_FALSE(r.set.services.at(0).selector);
}

TEST_CASE("a port listed twice on a service is an error") {
  CHECK(decode_errors("[[service]]\nname = \"s\"\nports = [{ port = 80 }, { port = 80 }]\n") ==
        "test.toml:3:25: service.ports: port 80 is listed twice\n");
}

TEST_CASE("an external service needs hosts and ports, and static resolution needs endpoints") {
  CHECK(decode_errors("[[external]]\nname = \"e\"\nports = [{ port = 443 }]\n") ==
        "test.toml:1:1: external: missing required key 'hosts'\n");
  CHECK(decode_errors("[[external]]\nname = \"e\"\nhosts = [\"Api.Example.com\"]\nports = [{ port = 443 }]\n"
                      "resolution = \"static\"\n") ==
        "test.toml:1:1: external: resolution \"static\" needs endpoints or addresses\n");
  auto r = decode("[[external]]\nname = \"e\"\nhosts = [\"API.example.com\", \"*.example.org\"]\nports = [{ port = 443 }]\n");
  REQUIRE(r.ok());
  CHECK(r.set.externals[0].hosts[0].value == "api.example.com");
}

TEST_CASE("gateway servers need TLS settings that fit their mode") {
  const char* head = "[[gateway]]\nname = \"g\"\nselector = { app = \"gw\" }\n[[gateway.servers]]\n";
  CHECK(decode(std::string(head) + "port = 80\nprotocol = \"http\"\nhosts = [\"a.example.com\"]\ntls = { https_redirect = true }\n").ok());
  CHECK(decode_errors(std::string(head) + "port = 443\nprotocol = \"https\"\nhosts = [\"a.example.com\"]\n") ==
        "test.toml:4:1: gateway.servers: protocol \"https\" needs a tls table\n");
  CHECK(decode_errors(std::string(head) + "port = 443\nprotocol = \"https\"\nhosts = [\"a.example.com\"]\ntls = { mode = \"simple\" }\n") ==
        "test.toml:8:7: gateway.servers.tls: mode \"simple\" needs credential_name, or server_certificate and private_key\n");
  CHECK(decode_errors(std::string(head) + "port = 443\nprotocol = \"https\"\nhosts = [\"a.example.com\"]\n"
                                          "tls = { mode = \"mutual\", server_certificate = \"c.pem\", private_key = \"k.pem\" }\n") ==
        "test.toml:8:7: gateway.servers.tls: mode \"mutual\" needs ca_certificates (or a credential_name that includes the CA)\n");
}

TEST_CASE("gateway hosts may name a namespace") {
  auto r = decode("[[gateway]]\nname = \"g\"\nselector = { app = \"gw\" }\n[[gateway.servers]]\nport = 80\n"
                  "protocol = \"http\"\nhosts = [\"shop/Shop.Example.com\", \"*\"]\n");
  REQUIRE(r.ok());
  CHECK(r.set.gateways[0].servers[0].hosts[0].value == "shop/shop.example.com");
}

TEST_CASE("telemetry is decoded with Istio's defaults and unknown metrics are named") {
  auto r = decode("[telemetry]\naccess_log = { enabled = true, format = \"text\" }\n");
  REQUIRE(r.ok());
  CHECK(r.set.telemetry->access_log.enabled);
  CHECK(r.set.telemetry->access_log.format == "text");
  CHECK(r.set.telemetry->tracing.sampling == 1);
  CHECK(decode_errors("[telemetry]\nmetrics = { disabled = [\"istio_request_total\"] }\n") ==
        "test.toml:2:25: telemetry.metrics.disabled: unknown metric 'istio_request_total'; did you mean "
        "'istio_requests_total'?\n");
  CHECK(decode_errors("[telemetry]\ntracing = { enabled = true }\n") ==
        "test.toml:2:11: telemetry.tracing: enabled tracing needs an endpoint\n");
}
