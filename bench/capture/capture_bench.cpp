// capture_bench: connection set-up cost through capture. In one run, for eBPF capture and
// then nftables capture, it enrolls one pod netns with daemon/datapath, serves the pod's
// outbound listener like the daemon does (accept → original-destination lookup → first byte
// → close) and measures, from a client thread inside the pod, connect + first byte:
//   direct   connect to the listener itself (127.0.0.1:15001): no capture involved
//   captured connect to 198.19.0.1:80, redirected to the same listener by the capture mode
// Direct and captured samples alternate, so drift hits both alike. Prints p50/p99/mean in
// microseconds and the sequential set-up rate. Run it through bench/capture/run.sh (root).
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "daemon/base/log.hpp"
#include "daemon/datapath/capture.hpp"

using namespace mesh;
using Clock = std::chrono::steady_clock;

namespace {

struct Stats {
  std::vector<double> us;
  double seconds = 0;
};

void serve(int listener, const datapath::OrigDstResolver& resolver, uint64_t cookie) {
  for (;;) {
    int c = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) return;  // shut down
    (void)resolver.outbound(cookie, c);  // what the daemon does first; direct connects miss
    char b = 'x';
    (void)!::write(c, &b, 1);
    ::close(c);
  }
}

// One connect + first byte; returns microseconds or -1.
double sample(const sockaddr_in& dst) {
  auto t0 = Clock::now();
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  char b;
  bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&dst), sizeof(dst)) == 0 && ::read(fd, &b, 1) == 1;
  auto t1 = Clock::now();
  ::close(fd);
  return ok ? std::chrono::duration<double, std::micro>(t1 - t0).count() : -1;
}

sockaddr_in addr(uint32_t ip, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(ip);
  sa.sin_port = htons(port);
  return sa;
}

void report(const char* name, Stats& s) {
  std::sort(s.us.begin(), s.us.end());
  double sum = 0;
  for (double v : s.us) sum += v;
  size_t n = s.us.size();
  std::printf("%-22s n=%-6zu p50=%7.1fus p99=%7.1fus mean=%7.1fus rate=%8.0f conn/s\n", name, n,
              n ? s.us[n / 2] : 0, n ? s.us[n * 99 / 100] : 0, n ? sum / n : 0, s.seconds > 0 ? n / s.seconds : 0);
}

// Runs one capture mode; returns false on set-up failure.
bool run_mode(datapath::CaptureOptions o, const std::string& netns, const std::string& ip, int samples,
              Stats& direct, Stats& captured) {
  auto cap = datapath::Capture::create(o);
  if (!cap) {
    std::fprintf(stderr, "capture: %s\n", cap.error().message().c_str());
    return false;
  }
  datapath::WorkloadSpec spec{"bench", "default", "bench", netns, "", {*base::IpAddr::parse(ip)}};
  auto e = (*cap)->enroll(spec);
  if (!e) {
    std::fprintf(stderr, "enroll: %s\n", e.error().message().c_str());
    return false;
  }
  auto resolver = (*cap)->resolver();
  int listener = e->listeners.outbound.get();
  std::thread server(serve, listener, resolver, e->netns_cookie);
  std::thread client([&] {
    auto ns = datapath::Netns::open(netns);
    auto scope = datapath::NetnsScope::enter(*ns);
    sockaddr_in to_listener = addr(0x7f000001, o.outbound_port);
    sockaddr_in to_vip = addr((198u << 24) | (19u << 16) | 1u, 80);
    for (int i = 0; i < samples / 10; ++i) sample(to_listener), sample(to_vip);  // warm-up
    for (int i = 0; i < samples; ++i) {
      for (auto [dst, stats] : {std::pair{&to_listener, &direct}, std::pair{&to_vip, &captured}}) {
        auto t0 = Clock::now();
        double us = sample(*dst);
        stats->seconds += std::chrono::duration<double>(Clock::now() - t0).count();
        if (us >= 0) stats->us.push_back(us);
      }
    }
  });
  client.join();
  ::shutdown(listener, SHUT_RDWR);
  server.join();
  (void)(*cap)->unenroll("bench");
  (void)(*cap)->uninstall();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: capture_bench NETNS POD_IP CGROUP_ROOT BPFFS STATE_DIR SAMPLES\n");
    return 2;
  }
  base::log::set_level(base::log::Level::Warn);
  std::string netns = argv[1], ip = argv[2];
  int samples = std::atoi(argv[6]);
  datapath::CaptureOptions o;
  o.cgroup_root = argv[3];
  o.bpffs = argv[4];
  o.pin_dir = o.bpffs + "/meshd/v1";
  o.state_file = std::string(argv[5]) + "/workloads.state";
  o.pending_dir = std::string(argv[5]) + "/enroll.d";
  Stats ebpf_direct, ebpf, nft_direct, nft;
  o.mode = datapath::CaptureMode::Ebpf;
  if (!run_mode(o, netns, ip, samples, ebpf_direct, ebpf)) return 1;
  o.mode = datapath::CaptureMode::Nftables;
  if (!run_mode(o, netns, ip, samples, nft_direct, nft)) return 1;
  std::printf("connect + first byte, sequential, %d samples per path (direct and captured interleaved)\n", samples);
  report("direct (eBPF run)", ebpf_direct);
  report("eBPF capture", ebpf);
  report("direct (nft run)", nft_direct);
  report("nftables capture", nft);
  auto p50 = [](const Stats& s) { return s.us.empty() ? 0.0 : s.us[s.us.size() / 2]; };
  std::printf("eBPF/direct p50 = %.3f   nftables/direct p50 = %.3f   eBPF/nftables p50 = %.3f\n",
              p50(ebpf) / p50(ebpf_direct), p50(nft) / p50(nft_direct), p50(ebpf) / p50(nft));
  return 0;
}
