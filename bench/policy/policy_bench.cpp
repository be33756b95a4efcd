// Policy benchmark: decisions per second on one core and the latency distribution of one
// decision (route selection + workload lookup + L7 authorization), the time to decode and
// compile a mesh of 10 000 workloads and 10 000 authorization policies, and how the cost of
// a decision grows with the number of policies. Run a release build:
//   meson setup build-release -Dbuildtype=release && ninja -C build-release bench/policy/policy_bench
//   taskset -c 1 build-release/bench/policy/policy_bench
#include <time.h>
#include <x86intrin.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "bench/policy/mesh_gen.hpp"
#include "policy/engine.hpp"
#include "policy/toml/codec.hpp"

namespace {

using namespace mesh::policy;
using mesh::base::IpAddr;
using Clock = std::chrono::steady_clock;

// One request as the daemon would hold it after parsing: its text in one buffer (as in a
// receive buffer), views into it, and the addresses of both ends. Views point into `text`,
// so a Query is filled in place and never copied (queries() reserves its vector).
struct Query {
  char text[224];
  size_t used = 0;
  std::string_view identity, host, method, path, authority;
  IpAddr source, vip;
  std::array<Header, 3> headers{};
  size_t header_count = 0;

  std::string_view put(std::string_view s) {
    if (used + s.size() > sizeof(text)) std::abort();
    std::memcpy(text + used, s.data(), s.size());
    std::string_view v(text + used, s.size());
    used += s.size();
    return v;
  }
  void header(std::string_view name, std::string_view value) { headers[header_count++] = {put(name), put(value)}; }
};

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// Workload lookup of both ends and service lookup by VIP, route selection, then
// authorization at the picked endpoint, as the daemon does per request.
[[gnu::noinline]] Verdict decide(const CompiledPolicy& p, const Query& q, RandomSource& random) {
  RequestAttrs req{q.method, q.path, q.authority, "http", std::span<const Header>(q.headers.data(), q.header_count)};
  const Workload* source = p.workloads().by_ip(q.source);
  const Service* service = p.services().by_vip(q.vip);
  HttpRouteDecision r = select_http_route(p, HttpRouteQuery{q.host, 80, &req, source, kMeshGateway, service}, random);
  if (!r.target || !r.target->subset || r.target->subset->endpoints.empty()) return Verdict::Deny;
  const Workload& ep = p.workloads().all()[r.target->subset->endpoints.front()];
  const Workload* dst = p.workloads().by_ip(ep.addresses.front());
  ConnectionAttrs conn{q.identity, q.source, dst, ep.addresses.front(), 8080};
  return authorize_request(p, conn, req).verdict;
}

// Requests to the given services, from clients their ALLOW policy names (two of them per
// service), with a mix that exercises every rule: 70 % GET /api/..., 10 % beta header,
// 10 % POST /admin, 5 % DELETE (denied), 5 % from an unknown identity (denied).
std::vector<Query> queries(const mesh::bench::MeshShape& shape, const std::vector<uint32_t>& services, uint32_t count) {
  std::vector<Query> out;
  out.reserve(count);  // filled in place: the views must not move
  SplitMix64 rnd(12345);
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t s = services[rnd.next() % services.size()];
    uint32_t client = (s + shape.namespaces * (1 + static_cast<uint32_t>(rnd.next() % 2))) % shape.services;
    std::string ns = mesh::bench::service_namespace(s, shape);
    Query& q = out.emplace_back();
    uint32_t kind = static_cast<uint32_t>(rnd.next() % 100);
    std::string identity = fmt::format("spiffe://cluster.local/ns/{}/sa/svc{}", ns, client);
    if (kind >= 25 && kind < 30) identity = "spiffe://cluster.local/ns/elsewhere/sa/intruder";  // no ALLOW matches
    q.identity = q.put(identity);
    q.source = IpAddr::v4(mesh::bench::workload_ip(client, 0));
    q.host = q.put(fmt::format("svc{}.{}.svc.cluster.local", s, ns));
    q.vip = IpAddr::v4((198u << 24) | (19u << 16) | (s + 1));
    q.authority = q.put(fmt::format("svc{}.{}:80", s, ns));
    if (kind >= 10 && kind < 20) {
      q.method = q.put("POST");
      q.path = q.put("/admin/reindex");
    } else {
      q.method = q.put(kind >= 20 && kind < 25 ? "DELETE" : "GET");  // DELETE: denied by the DENY policy
      q.path = q.put(fmt::format("/api/items/{}?page=2", i % 1000));
    }
    if (kind < 10) q.header("x-beta", "1");
    q.header("user-agent", "bench/1.0");
    q.header("accept", "*/*");
  }
  return out;
}

// The first n services, or n services spread evenly over all of them.
std::vector<uint32_t> first(uint32_t n) {
  std::vector<uint32_t> out(n);
  for (uint32_t i = 0; i < n; ++i) out[i] = i;
  return out;
}
std::vector<uint32_t> spread(uint32_t n, uint32_t of) {
  std::vector<uint32_t> out(n);
  for (uint32_t i = 0; i < n; ++i) out[i] = static_cast<uint32_t>(uint64_t{i} * of / n);
  return out;
}

struct Throughput {
  double wall_per_second;  // decisions per second of elapsed time
  double cpu_per_second;   // decisions per second of this thread's CPU time: per core, even on a busy machine
  double allowed_share;
};

double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

Throughput throughput(const CompiledPolicy& p, const std::vector<Query>& qs, double seconds) {
  SplitMix64 random(1);
  uint64_t n = 0, allowed = 0;
  for (const Query& q : qs) allowed += decide(p, q, random) == Verdict::Allow;  // warm up
  allowed = 0;
  auto start = Clock::now();
  double cpu0 = thread_cpu_seconds();
  do {
    for (const Query& q : qs) allowed += decide(p, q, random) == Verdict::Allow;
    n += qs.size();
  } while (ms_since(start) < seconds * 1000);
  double cpu = thread_cpu_seconds() - cpu0;
  auto dn = static_cast<double>(n);
  return {dn / (ms_since(start) / 1000), dn / cpu, static_cast<double>(allowed) / dn};
}

double tsc_per_ns() {
  auto t0 = Clock::now();
  uint64_t c0 = __rdtsc();
  while (ms_since(t0) < 200) {
  }
  return static_cast<double>(__rdtsc() - c0) / (ms_since(t0) * 1e6);
}

// A histogram of 1 ns buckets up to 100 µs: exact percentiles at this resolution.
struct Latency {
  std::vector<uint32_t> buckets = std::vector<uint32_t>(100000);
  uint64_t count = 0, over = 0;
  double percentile(double q) const {
    uint64_t target = static_cast<uint64_t>(q * count), seen = 0;
    for (size_t i = 0; i < buckets.size(); ++i)
      if ((seen += buckets[i]) > target) return static_cast<double>(i);
    return 1e5;
  }
};

Latency latency(const CompiledPolicy& p, const std::vector<Query>& qs, int rounds) {
  const double scale = tsc_per_ns();
  // The cost of reading the TSC twice, subtracted from every sample.
  uint64_t overhead = UINT64_MAX;
  for (int i = 0; i < 1000; ++i) {
    uint64_t a = __rdtsc(), b = __rdtsc();
    overhead = std::min(overhead, b - a);
  }
  Latency h;
  SplitMix64 random(2);
  for (int r = 0; r < rounds; ++r) {
    for (const Query& q : qs) {
      _mm_lfence();
      uint64_t a = __rdtsc();
      Verdict v = decide(p, q, random);
      _mm_lfence();
      uint64_t b = __rdtsc();
      asm volatile("" : : "r"(v));
      auto ns = static_cast<uint64_t>(static_cast<double>(b - a - std::min(b - a, overhead)) / scale);
      if (ns < h.buckets.size()) ++h.buckets[ns];
      else ++h.over;
      ++h.count;
    }
  }
  return h;
}

struct Loaded {
  PolicySnapshot policy;
  double decode_ms, compile_ms;
  size_t bytes;
};

Loaded load(const mesh::bench::MeshShape& shape) {
  std::string text = mesh::bench::generate_mesh(shape);
  SourceFile f{"bench.toml", std::move(text)};
  auto t0 = Clock::now();
  DecodeResult d = decode_toml(std::span<const SourceFile>(&f, 1), Limits{});
  double decode_ms = ms_since(t0);
  if (!d.ok()) {
    fmt::print(stderr, "{}\n", d.errors.front().to_string());
    std::exit(1);
  }
  auto t1 = Clock::now();
  CompileResult c = compile(std::move(d.set), CompileOptions{});
  double compile_ms = ms_since(t1);
  if (!c.ok()) {
    fmt::print(stderr, "{}\n", c.errors.front().to_string());
    std::exit(1);
  }
  return {c.policy, decode_ms, compile_ms, f.text.size()};
}

void report(const char* name, const CompiledPolicy& p, const std::vector<Query>& qs) {
  Throughput t = throughput(p, qs, 3.0);
  Latency h = latency(p, qs, std::max<int>(1, static_cast<int>((1 << 20) / qs.size())));
  fmt::print("{}:\n  {:.2f} M decisions/s per core (CPU time), {:.2f} M/s wall; {:.0f} % allowed\n", name,
             t.cpu_per_second / 1e6, t.wall_per_second / 1e6, 100.0 * t.allowed_share);
  fmt::print("  latency p50 {:.0f} ns, p90 {:.0f} ns, p99 {:.0f} ns, p99.9 {:.0f} ns ({} samples, {} over 100 us)\n",
             h.percentile(0.5), h.percentile(0.9), h.percentile(0.99), h.percentile(0.999), h.count, h.over);
}

void main_run() {
  mesh::bench::MeshShape shape;  // 10 000 workloads, 5 000 services, 10 000 policies
  Loaded l = load(shape);
  const CompiledPolicy& p = *l.policy;
  fmt::print("mesh: {} workloads, {} services, {} routes, {} destinations, {} authorization policies ({:.1f} MiB TOML)\n",
             p.workloads().all().size(), p.services().all().size(), p.routes().all().size(),
             p.destinations().all().size(), p.authorizations().all().size(), l.bytes / 1048576.0);
  fmt::print("load: TOML decode {:.0f} ms, compile {:.0f} ms, total {:.0f} ms\n", l.decode_ms, l.compile_ms,
             l.decode_ms + l.compile_ms);
  fmt::print("a decision: by_ip(source) + by_vip + select_http_route + by_ip(endpoint) + authorize_request (L7)\n");
  // One daemon per node authorizes for its own workloads: 55 services = 110 pods on a node.
  report("node-local stream (destinations: the 110 workloads of one node, 55 services)", p,
         queries(shape, spread(55, shape.services), 1 << 10));
  report("uniform stream (destinations: all 10 000 workloads, worst case for caches)", p,
         queries(shape, first(shape.services), 1 << 12));
}

void scaling() {
  fmt::print("\ngrowth with policy count (10 000 workloads; node-local stream to 50 services that have policies;\n"
             "uniform stream to every service that has policies):\n");
  fmt::print("  {:>8} {:>9} {:>14} {:>8} {:>8} {:>14} {:>8} {:>8}\n", "policies", "compile", "local M/s/core", "p50 ns",
             "p99 ns", "uniform M/s/core", "p50 ns", "p99 ns");
  for (uint32_t with_policy : {50u, 500u, 5000u}) {
    mesh::bench::MeshShape shape;
    shape.policy_services = with_policy;
    Loaded l = load(shape);
    auto local = queries(shape, spread(50, with_policy), 1 << 10);
    auto uniform = queries(shape, first(with_policy), 1 << 12);
    Throughput tl = throughput(*l.policy, local, 1.0), tu = throughput(*l.policy, uniform, 1.0);
    Latency hl = latency(*l.policy, local, 16), hu = latency(*l.policy, uniform, 8);
    fmt::print("  {:>8} {:>7.0f}ms {:>14.2f} {:>8.0f} {:>8.0f} {:>14.2f} {:>8.0f} {:>8.0f}\n", with_policy * 2, l.compile_ms,
               tl.cpu_per_second / 1e6, hl.percentile(0.5), hl.percentile(0.99), tu.cpu_per_second / 1e6,
               hu.percentile(0.5), hu.percentile(0.99));
  }
  fmt::print("\ngrowth with policies that all apply to the destination (namespace-wide ALLOWs, none matching):\n");
  fmt::print("  {:>8} {:>14} {:>8} {:>8}\n", "policies", "M/s/core", "p50 ns", "p99 ns");
  for (uint32_t wide : {10u, 100u, 1000u}) {
    mesh::bench::MeshShape shape;
    shape.namespace_wide = wide;
    Loaded l = load(shape);
    std::vector<uint32_t> ns0;  // the services of ns0, where the namespace-wide policies are
    for (uint32_t s = 0; s < shape.services; s += shape.namespaces) ns0.push_back(s);
    auto qs = queries(shape, ns0, 1 << 12);
    Throughput t = throughput(*l.policy, qs, 1.0);
    Latency h = latency(*l.policy, qs, 16);
    fmt::print("  {:>8} {:>14.2f} {:>8.0f} {:>8.0f}\n", wide, t.cpu_per_second / 1e6, h.percentile(0.5),
               h.percentile(0.99));
  }
}

// `policy_bench --profile S N`: exactly N decisions to the first S services (all with
// policies), for perf stat / perf record; N = 0 measures the loading alone.
int profile(uint32_t services, uint64_t n) {
  mesh::bench::MeshShape shape;
  Loaded l = load(shape);
  auto qs = queries(shape, first(services), 1 << 12);
  SplitMix64 random(1);
  uint64_t allowed = 0;
  for (uint64_t i = 0; i < n; ++i) allowed += decide(*l.policy, qs[i % qs.size()], random) == Verdict::Allow;
  fmt::print("{} decisions, {} allowed\n", n, allowed);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::string_view(argv[1]) == "--profile") {
    return profile(static_cast<uint32_t>(std::atoi(argv[2])), std::strtoull(argv[3], nullptr, 10));
  }
  main_run();
  scaling();
  return 0;
}
