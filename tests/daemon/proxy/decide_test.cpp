#include "daemon/proxy/decide.hpp"

#include <doctest/doctest.h>

#include "daemon/identity/credential_manager.hpp"
#include "policy/toml/codec.hpp"

using namespace mesh;
using proxy::RejectReason;

namespace {

constexpr const char* kPolicy = R"(
[[workload]]
name = "web"
namespace = "shop"
service_account = "web"
addresses = ["198.18.1.11", "2001:db8:1::11"]
labels = { app = "web" }

[[workload]]
name = "cart-1"
namespace = "shop"
service_account = "cart"
addresses = ["198.18.2.11"]
labels = { app = "cart", version = "v1" }

[[workload]]
name = "cart-2"
namespace = "shop"
service_account = "cart"
addresses = ["198.18.2.12"]
labels = { app = "cart", version = "v2" }

[[workload]]
name = "legacy"
namespace = "shop"
service_account = "legacy"
addresses = ["198.18.3.11"]
protocol = "tcp"

[[service]]
name = "cart"
namespace = "shop"
vips = ["198.19.0.10"]
selector = { app = "cart" }
ports = [{ port = 80, target_port = 8080 }]

[[authorization]]
name = "cart-from-web"
namespace = "shop"
selector = { app = "cart" }
[[authorization.rules]]
from = [{ principals = ["cluster.local/ns/shop/sa/web"] }]
)";

policy::PolicySnapshot compile(const std::string& text) {
  std::vector<policy::SourceFile> files{{"mesh.toml", text}};
  auto r = policy::load_policy_sources(files, policy::CompileOptions{});
  for (const auto& e : r.errors) FAIL(e.to_string());
  REQUIRE(r.ok());
  return r.policy;
}

tunnel::SpiffeId id(const char* text) { return tunnel::SpiffeId::parse(text).value(); }

// A view like the one meshd builds: the policy, a certificate for `web`, meshed peers.
struct ViewFixture {
  ViewFixture() {
    view.trust_domain = "cluster.local";
    view.policy = compile(kPolicy);
    auto ca = tunnel::CertificateAuthority::create_root("cluster.local", clock.wall(), std::chrono::hours(24));
    REQUIRE(ca);
    creds.set_ca(std::move(*ca));
    REQUIRE(creds.add_issued(id("spiffe://cluster.local/ns/shop/sa/web")));
    view.tls[id("spiffe://cluster.local/ns/shop/sa/web")] = *creds.contexts(id("spiffe://cluster.local/ns/shop/sa/web"));
    for (const auto& w : view.policy->workloads().all()) {
      if (w.protocol != policy::model::WorkloadProtocol::Hbone) continue;
      for (const auto& ip : w.addresses) view.peers[ip] = proxy::MeshPeer{id(w.identity.c_str()), true};
    }
  }
  base::FakeClock clock;
  identity::CredentialManager creds{clock};
  proxy::MeshView view;
  proxy::LocalWorkload web{id("spiffe://cluster.local/ns/shop/sa/web"),
                         {base::IpAddr::parse("198.18.1.11").value(), base::IpAddr::parse("2001:db8:1::11").value()}};
  proxy::CapturePorts ports;
};

struct Fixed final : policy::RandomSource {
  uint64_t value = 0;
  uint64_t next() override { return value; }
};

base::SocketAddr addr(const char* text) { return base::SocketAddr::parse(text).value(); }

}  // namespace

TEST_CASE("a connection to a meshed workload goes through HBONE to its 15008, expecting its identity") {
  ViewFixture f;
  Fixed r;
  auto d = proxy::decide_outbound(f.view, f.web, addr("198.18.2.11:8080"), f.ports, r);
  REQUIRE(d.tunnel);
  CHECK(d.tunnel->key.node == addr("198.18.2.11:15008"));
  CHECK(d.tunnel->authority == "198.18.2.11:8080");
  REQUIRE(d.tunnel->key.destinations.size() == 1);
  CHECK(d.tunnel->key.destinations[0].str() == "spiffe://cluster.local/ns/shop/sa/cart");
  CHECK(d.tunnel->key.source.str() == "spiffe://cluster.local/ns/shop/sa/web");
  CHECK(d.tunnel->tls != nullptr);
}

TEST_CASE("a service VIP goes to one of its endpoints on the target port") {
  ViewFixture f;
  Fixed r;
  r.value = 0;
  auto first = proxy::decide_outbound(f.view, f.web, addr("198.19.0.10:80"), f.ports, r);
  r.value = 1;
  auto second = proxy::decide_outbound(f.view, f.web, addr("198.19.0.10:80"), f.ports, r);
  REQUIRE(first.tunnel);
  REQUIRE(second.tunnel);
  CHECK(first.tunnel->authority == "198.18.2.11:8080");
  CHECK(second.tunnel->authority == "198.18.2.12:8080");
}

TEST_CASE("a port the service does not declare is refused") {
  ViewFixture f;
  Fixed r;
  CHECK(proxy::decide_outbound(f.view, f.web, addr("198.19.0.10:81"), f.ports, r).reject == RejectReason::NoDestination);
}

TEST_CASE("plain-TCP workloads and unknown destinations are reached directly") {
  ViewFixture f;
  Fixed r;
  auto legacy = proxy::decide_outbound(f.view, f.web, addr("198.18.3.11:5432"), f.ports, r);
  CHECK_FALSE(legacy.tunnel);
  CHECK(legacy.reject == RejectReason::kCount);
  CHECK(legacy.upstream == addr("198.18.3.11:5432"));
  auto outside = proxy::decide_outbound(f.view, f.web, addr("198.18.99.1:443"), f.ports, r);
  CHECK_FALSE(outside.tunnel);
  CHECK(outside.upstream == addr("198.18.99.1:443"));
}

TEST_CASE("a source without a certificate may not reach meshed workloads") {
  ViewFixture f;
  Fixed r;
  proxy::LocalWorkload nameless{id("spiffe://cluster.local/ns/shop/sa/nobody"), {}};
  CHECK(proxy::decide_outbound(f.view, nameless, addr("198.18.2.11:8080"), f.ports, r).reject ==
        RejectReason::NoCertificate);
}

TEST_CASE("calls to meshd's own ports are refused as loops") {
  ViewFixture f;
  Fixed r;
  CHECK(proxy::decide_outbound(f.view, f.web, addr("127.0.0.1:15001"), f.ports, r).reject == RejectReason::SelfCall);
  CHECK(proxy::decide_outbound(f.view, f.web, addr("198.18.1.11:15008"), f.ports, r).reject == RejectReason::SelfCall);
}

TEST_CASE("HBONE inbound: authorization by principal, target checks, and their statuses") {
  ViewFixture f;
  proxy::LocalWorkload cart{id("spiffe://cluster.local/ns/shop/sa/cart"), {base::IpAddr::parse("198.18.2.11").value()}};
  tunnel::hbone::ConnectRequest req;
  req.target = addr("198.18.2.11:8080");
  auto local = addr("198.18.2.11:15008");
  auto remote = addr("198.18.1.11:40000");
  auto ok = proxy::decide_inbound_tunnel(f.view, cart, req, id("spiffe://cluster.local/ns/shop/sa/web"), remote, local, f.ports);
  CHECK(ok.status == 200);
  CHECK(ok.upstream == addr("198.18.2.11:8080"));
  REQUIRE(ok.attrs);
  CHECK(ok.attrs->source_identity == "spiffe://cluster.local/ns/shop/sa/web");
  auto denied = proxy::decide_inbound_tunnel(f.view, cart, req, id("spiffe://cluster.local/ns/shop/sa/evil"), remote, local, f.ports);
  CHECK(denied.status == 401);
  CHECK(denied.reject == RejectReason::Denied);
  req.target = addr("198.18.2.12:8080");  // another workload: not this connection's
  CHECK(proxy::decide_inbound_tunnel(f.view, cart, req, id("spiffe://cluster.local/ns/shop/sa/web"), remote, local, f.ports).status == 400);
  req.target = addr("198.18.2.11:15006");
  CHECK(proxy::decide_inbound_tunnel(f.view, cart, req, id("spiffe://cluster.local/ns/shop/sa/web"), remote, local, f.ports).reject ==
        RejectReason::SelfCall);
  req.target.reset();
  CHECK(proxy::decide_inbound_tunnel(f.view, cart, req, id("spiffe://cluster.local/ns/shop/sa/web"), remote, local, f.ports).status == 400);
}

TEST_CASE("plaintext inbound: denied by an ALLOW policy that needs a principal, refused under STRICT") {
  ViewFixture f;
  proxy::LocalWorkload cart{id("spiffe://cluster.local/ns/shop/sa/cart"), {base::IpAddr::parse("198.18.2.11").value()}};
  auto d = proxy::decide_inbound_plaintext(f.view, cart, addr("198.18.1.11:40000"), addr("198.18.2.11:8080"), f.ports);
  CHECK(d.reject == RejectReason::Denied);
  proxy::LocalWorkload web = f.web;
  auto open = proxy::decide_inbound_plaintext(f.view, web, addr("198.18.2.11:40000"), addr("198.18.1.11:8080"), f.ports);
  CHECK(open.reject == RejectReason::kCount);
  REQUIRE(open.attrs);
  f.view.policy = compile(std::string(kPolicy) +
                          "\n[[peer_authentication]]\nname = \"strict\"\nnamespace = \"shop\"\nmode = \"strict\"\n");
  auto strict = proxy::decide_inbound_plaintext(f.view, web, addr("198.18.2.11:40000"), addr("198.18.1.11:8080"), f.ports);
  CHECK(strict.reject == RejectReason::Plaintext);
}

TEST_CASE("a connection allowed by one policy is refused by a stricter one") {
  ViewFixture f;
  proxy::FlowAttrs attrs{"spiffe://cluster.local/ns/shop/sa/web", addr("198.18.1.11:40000"), addr("198.18.2.11:8080")};
  CHECK(proxy::still_allowed(f.view, attrs));
  std::string stricter = kPolicy;
  stricter.replace(stricter.find("cluster.local/ns/shop/sa/web\"]"), 28, "cluster.local/ns/shop/sa/adm");
  f.view.policy = compile(stricter);
  CHECK_FALSE(proxy::still_allowed(f.view, attrs));
}

TEST_CASE("inbound inspection: which ports are inspected for HTTP, and the server-first list from the settings") {
  ViewFixture f;
  proxy::LocalWorkload web = f.web;
  auto at = [&](const char* dst, const proxy::CapturePorts& ports) {
    auto d = proxy::decide_inbound_plaintext(f.view, web, addr("198.18.2.11:40000"), addr(dst), ports);
    REQUIRE(d.attrs);
    return d.attrs->per_request;
  };
  CHECK(at("198.18.1.11:8080", f.ports));        // undeclared: sniffed
  CHECK_FALSE(at("198.18.1.11:5432", f.ports));  // Linkerd's server-first list by default
  proxy::CapturePorts custom = f.ports;
  custom.server_first = {2222};
  CHECK(at("198.18.1.11:5432", custom));
  CHECK_FALSE(at("198.18.1.11:2222", custom));
}

TEST_CASE("outbound: a service port that may carry HTTP gets a plan for per-request routing") {
  ViewFixture f;
  Fixed r;
  auto d = proxy::decide_outbound(f.view, f.web, addr("198.19.0.10:80"), f.ports, r);
  REQUIRE(d.reject == RejectReason::kCount);
  REQUIRE(d.http);
  CHECK(d.http->dialled == addr("198.19.0.10:80"));
  CHECK(d.http->first_endpoint.port() == 8080);
  CHECK(d.http->declared == tunnel::http::DeclaredProtocol::Undeclared);
  // A workload's own address is not a service: L4 only.
  CHECK_FALSE(proxy::decide_outbound(f.view, f.web, addr("198.18.2.11:8080"), f.ports, r).http);
}

TEST_CASE("inbound ports declared http, http2 and grpc are inspected per request; tcp and server-first ports are not") {
  ViewFixture f;
  f.view.policy = compile(std::string(kPolicy) + R"(
[[service]]
name = "web"
namespace = "shop"
vips = ["198.19.0.20"]
selector = { app = "web" }
ports = [{ port = 81, protocol = "http" }, { port = 82, protocol = "http2" }, { port = 83, protocol = "grpc" },
         { port = 84, protocol = "tcp" }, { port = 85 }, { port = 5432 }]
)");
  using tunnel::http::DeclaredProtocol;
  struct Row {
    uint16_t port;
    DeclaredProtocol declared;
    bool per_request;
  };
  for (Row row : {Row{81, DeclaredProtocol::Http, true}, Row{82, DeclaredProtocol::Http2, true},
                  Row{83, DeclaredProtocol::Grpc, true}, Row{84, DeclaredProtocol::Tcp, false},
                  Row{85, DeclaredProtocol::Undeclared, true}, Row{5432, DeclaredProtocol::Undeclared, false}}) {
    CAPTURE(row.port);
    auto dst = base::SocketAddr(base::IpAddr::parse("198.18.1.11").value(), row.port);
    auto d = proxy::decide_inbound_plaintext(f.view, f.web, addr("198.18.2.11:40000"), dst, f.ports);
    REQUIRE(d.attrs);
    CHECK(d.attrs->declared == row.declared);
    CHECK(d.attrs->per_request == row.per_request);
  }
}
