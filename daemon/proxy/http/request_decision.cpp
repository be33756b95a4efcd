#include "daemon/proxy/http/request_decision.hpp"

#include <vector>

namespace mesh::proxy {

policy::AuthzDecision authorize_inbound_request(const policy::CompiledPolicy* p, const FlowAttrs& attrs,
                                                const tunnel::http::RequestHead& head) {
  if (p == nullptr) return {};
  thread_local std::vector<policy::Header> headers;
  headers.clear();
  for (const auto& h : head.headers) headers.push_back({h.name, h.value});
  policy::ConnectionAttrs conn{attrs.source_identity, attrs.source.ip(), p->workloads().by_ip(attrs.destination.ip()),
                               attrs.destination.ip(), attrs.destination.port()};
  // A view of "http" or of the head's own scheme (a ternary of a literal and a std::string
  // would make a temporary string, and the view would outlive it).
  std::string_view scheme = head.scheme.empty() ? std::string_view("http") : std::string_view(head.scheme);
  policy::RequestAttrs req{head.method, head.path, head.authority, scheme, headers};
  return policy::authorize_request(*p, conn, req);
}

namespace {

void workload_peer(const policy::Workload* w, telemetry::PeerInfo& out) {
  if (w == nullptr) return;
  out.workload = w->name;
  out.workload_namespace = w->ns;
  if (out.principal.empty()) out.principal = w->identity;
}

std::string_view host_of(std::string_view authority) {
  if (authority.starts_with('[')) {
    auto end = authority.find(']');
    return end == std::string_view::npos ? authority : authority.substr(1, end - 1);
  }
  return authority.substr(0, authority.rfind(':') == std::string_view::npos ? authority.size() : authority.rfind(':'));
}

}  // namespace

void describe_inbound(const policy::CompiledPolicy* p, const FlowAttrs& attrs, std::string_view authority,
                      telemetry::RequestRecord& r) {
  r.reporter = telemetry::Reporter::Destination;
  r.source.principal = attrs.source_identity;
  r.endpoint = attrs.destination;
  if (p == nullptr) return;
  const policy::Workload* dst = p->workloads().by_ip(attrs.destination.ip());
  workload_peer(p->workloads().by_ip(attrs.source.ip()), r.source);
  if (!attrs.source_identity.empty() && r.source.workload_namespace.empty()) {
    // A peer outside this node's inventory: its namespace is in its SPIFFE ID (".../ns/<ns>/sa/...").
    std::string_view id = attrs.source_identity;
    auto ns = id.find("/ns/");
    if (ns != std::string_view::npos) {
      auto rest = id.substr(ns + 4);
      r.source.workload_namespace = std::string(rest.substr(0, rest.find('/')));
    }
  }
  workload_peer(dst, r.destination);
  std::string_view host = host_of(authority);
  if (!host.empty()) {
    auto ref = p->resolve_host(host, dst != nullptr ? std::string_view(dst->ns) : std::string_view());
    if (ref.service != nullptr) {
      r.destination_service = ref.service->hostname;
      return;
    }
  }
  if (dst != nullptr && !dst->services.empty()) r.destination_service = p->services().all()[dst->services.front()].hostname;
}

std::string new_request_id(base::RandomSource& random) {
  uint64_t hi = random.next();
  uint64_t lo = random.next();
  hi = (hi & ~uint64_t{0xf000}) | 0x4000;                       // version 4
  lo = (lo & ~(uint64_t{0xc} << 60)) | (uint64_t{0x8} << 60);   // variant 10xx
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  size_t pos = 0;
  auto put = [&](uint64_t v, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
      out[pos++] = kHex[(v >> (i * 4)) & 0xf];
    }
  };
  put(hi, 16);
  put(lo, 16);
  return out;
}

}  // namespace mesh::proxy
