// Fuzz target: arbitrary bytes as a policy file, through the whole codec and compiler, and
// then a few decisions against whatever compiled. Nothing may crash, hang, leak or trip a
// sanitizer; bounds come from the default Limits.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "policy/engine.hpp"
#include "policy/toml/codec.hpp"

using namespace mesh::policy;

// libFuzzer exits 77 on a crash by default, which meson reads as "skipped"; make crashes and
// timeouts fail the test instead.
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  static std::vector<char*> args;
  args.assign(*argv, *argv + *argc);
  args.push_back(const_cast<char*>("-error_exitcode=1"));
  args.push_back(const_cast<char*>("-timeout_exitcode=1"));
  args.push_back(nullptr);
  *argc = static_cast<int>(args.size() - 1);
  *argv = args.data();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  SourceFile file{"fuzz.toml", std::string(reinterpret_cast<const char*>(data), size)};
  CompileResult r = load_policy_sources(std::span<const SourceFile>(&file, 1), CompileOptions{});
  if (!r.ok()) {
    if (r.errors.empty()) __builtin_trap();  // a failed load must say why
    return 0;
  }
  const CompiledPolicy& p = *r.policy;
  SplitMix64 random(size);
  std::string path = "/" + file.text.substr(0, 64);
  RequestAttrs req{"GET", path, "x", "http", {}};
  for (const Workload& w : p.workloads().all()) {
    ConnectionAttrs conn{"spiffe://cluster.local/ns/default/sa/default", {}, &w, {}, 80};
    (void)authorize_connection(p, conn, Transport::Opaque);
    (void)authorize_connection(p, conn, Transport::Http);
    (void)authorize_request(p, conn, req);
  }
  for (const Service& s : p.services().all()) {
    (void)select_http_route(p, HttpRouteQuery{s.hostname, 80, &req}, random);
    (void)select_tcp_route(p, TcpRouteQuery{s.hostname, 80, {}}, random);
  }
  return 0;
}
