#include "bench/policy/mesh_gen.hpp"

#include <fmt/format.h>

namespace mesh::bench {

uint32_t workload_ip(uint32_t service, uint32_t version) {
  uint32_t n = service * 2 + version + 1;
  return (198u << 24) | (18u << 16) | n;  // within 198.18.0.0/15
}

std::string service_namespace(uint32_t service, const MeshShape& shape) {
  return fmt::format("ns{}", service % shape.namespaces);
}

namespace {

std::string ip_text(uint32_t ip) {
  return fmt::format("{}.{}.{}.{}", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

void service(std::string& out, uint32_t s, const MeshShape& shape) {
  const std::string ns = service_namespace(s, shape);
  for (uint32_t v = 0; v < 2; ++v) {
    out += fmt::format("[[workload]]\nname = \"svc{0}-v{1}\"\nnamespace = \"{2}\"\nservice_account = \"svc{0}\"\n"
                       "addresses = [\"{3}\"]\nlabels = {{ app = \"svc{0}\", version = \"v{1}\" }}\n\n",
                       s, v + 1, ns, ip_text(workload_ip(s, v)));
  }
  uint32_t vip = (198u << 24) | (19u << 16) | (s + 1);
  out += fmt::format(
      "[[service]]\nname = \"svc{0}\"\nnamespace = \"{1}\"\nvips = [\"{2}\"]\nselector = {{ app = \"svc{0}\" }}\n"
      "ports = [{{ port = 80, target_port = 8080, protocol = \"http\" }}, {{ port = 9090, protocol = \"http\" }}]\n\n"
      "[[destination]]\nname = \"svc{0}\"\nnamespace = \"{1}\"\nhost = \"svc{0}\"\n"
      "subsets = [{{ name = \"v1\", labels = {{ version = \"v1\" }} }}, {{ name = \"v2\", labels = {{ version = \"v2\" }} }}]\n\n"
      "[[route]]\nname = \"svc{0}\"\nnamespace = \"{1}\"\nhosts = [\"svc{0}\"]\n"
      "[[route.http]]\nname = \"beta\"\nmatch = [{{ headers = {{ x-beta = {{ exact = \"1\" }} }} }}]\n"
      "to = [{{ host = \"svc{0}\", subset = \"v2\" }}]\n"
      "[[route.http]]\nname = \"admin\"\nmatch = [{{ path = {{ prefix = \"/admin\" }}, method = {{ exact = \"POST\" }} }}]\n"
      "to = [{{ host = \"svc{0}\", subset = \"v1\" }}]\ntimeout = \"2s\"\n"
      "[[route.http]]\nname = \"split\"\nto = [{{ host = \"svc{0}\", subset = \"v1\", weight = 90 }}, "
      "{{ host = \"svc{0}\", subset = \"v2\", weight = 10 }}]\ntimeout = \"10s\"\n"
      "retries = {{ attempts = 3, per_try_timeout = \"2s\", retry_on = \"5xx,connect-failure\" }}\n\n",
      s, ns, ip_text(vip));
  if (s >= shape.policy_services) return;
  out += fmt::format(
      "[[authorization]]\nname = \"allow-svc{0}\"\nnamespace = \"{1}\"\nselector = {{ app = \"svc{0}\" }}\n"
      "[[authorization.rules]]\nfrom = [{{ principals = [\"cluster.local/ns/{1}/sa/svc{2}\", "
      "\"cluster.local/ns/{1}/sa/svc{3}\", \"cluster.local/ns/{1}/sa/gateway\"] }}]\n"
      "to = [{{ methods = [\"GET\", \"POST\"], paths = [\"/api/*\", \"/admin/*\"] }}]\n"
      "[[authorization.rules]]\nfrom = [{{ namespaces = [\"monitoring\"] }}]\nto = [{{ ports = [9090] }}]\n\n"
      "[[authorization]]\nname = \"deny-svc{0}\"\nnamespace = \"{1}\"\nselector = {{ app = \"svc{0}\" }}\naction = \"deny\"\n"
      "rules = [{{ to = [{{ methods = [\"DELETE\"] }}] }}, {{ from = [{{ ip_blocks = [\"198.19.255.0/24\"] }}] }}]\n\n",
      s, ns, (s + shape.namespaces) % shape.services, (s + 2 * shape.namespaces) % shape.services);
}

}  // namespace

std::string generate_mesh(const MeshShape& shape) {
  std::string out;
  out.reserve(static_cast<size_t>(shape.services) * 2000);
  for (uint32_t s = 0; s < shape.services; ++s) service(out, s, shape);
  for (uint32_t i = 0; i < shape.namespace_wide; ++i) {
    out += fmt::format("[[authorization]]\nname = \"ns-wide-{0}\"\nnamespace = \"ns0\"\n"
                       "rules = [{{ from = [{{ principals = [\"cluster.local/ns/other/sa/p{0}\"] }}], "
                       "to = [{{ paths = [\"/p{0}/*\"] }}] }}]\n\n", i);
  }
  return out;
}

}  // namespace mesh::bench
