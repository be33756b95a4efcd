// capture_bench: connection set-up cost through capture. With daemon/datapath it enrolls one
// pod netns with eBPF capture and another with nftables capture, serves both outbound
// listeners like the daemon does (accept → original-destination lookup → first byte → close)
// and measures, from a client thread inside each pod, connect + first byte:
//   direct   connect to the listener itself (127.0.0.1:15001): no capture involved
//   captured connect to 198.19.0.1:80, redirected to the same listener by the capture mode
// Both modes run at once on two pod netns, and the four paths alternate sample by sample, so
// drift and noise from other work on the machine hit all alike. Prints p50/p99/mean in
// microseconds and the sequential set-up rate. Run it through bench/capture/run.sh (root).
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
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

struct Listener {
  int fd;
  datapath::OrigDstResolver resolver;
  uint64_t cookie;
};

// One thread serves both pods' listeners, so both capture modes see the same scheduling.
void serve(const std::vector<Listener>& listeners, const std::atomic<bool>& stop) {
  std::vector<pollfd> pfds;
  for (const auto& l : listeners) pfds.push_back({l.fd, POLLIN, 0});
  while (!stop.load()) {
    if (::poll(pfds.data(), pfds.size(), 100) <= 0) continue;
    for (size_t i = 0; i < pfds.size(); ++i) {
      if (!(pfds[i].revents & POLLIN)) continue;
      int c = ::accept4(listeners[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      (void)listeners[i].resolver.outbound(listeners[i].cookie, c);  // what the daemon does first
      char b = 'x';
      (void)!::write(c, &b, 1);
      ::close(c);
    }
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

struct Side {
  std::unique_ptr<datapath::Capture> capture;
  datapath::Enrolled enrolled;
};

// Starts one capture mode on its own pod netns and serves its outbound listener.
bool start_side(datapath::CaptureOptions o, const std::string& netns, const std::string& ip, Side& side) {
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
  side.capture = std::move(*cap);
  side.enrolled = std::move(*e);
  return true;
}

void stop_side(Side& side) {
  (void)side.capture->unenroll("bench");
  (void)side.capture->uninstall();
}

// Four paths, interleaved sample by sample from one thread that enters the right netns
// (untimed) before each connection: direct and captured in the eBPF pod, the same in the
// nftables pod.
void measure(const std::string& ebpf_ns, const std::string& nft_ns, uint16_t port, int samples, Stats* out) {
  auto a = datapath::Netns::open(ebpf_ns);
  auto b = datapath::Netns::open(nft_ns);
  sockaddr_in to_listener = addr(0x7f000001, port);
  sockaddr_in to_vip = addr((198u << 24) | (19u << 16) | 1u, 80);
  struct Path {
    const datapath::Netns* ns;
    const sockaddr_in* dst;
  } paths[4] = {{&*a, &to_listener}, {&*a, &to_vip}, {&*b, &to_listener}, {&*b, &to_vip}};
  for (int i = 0; i < samples + samples / 10; ++i) {
    for (int p = 0; p < 4; ++p) {
      auto scope = datapath::NetnsScope::enter(*paths[p].ns);
      auto t0 = Clock::now();
      double us = sample(*paths[p].dst);
      if (i < samples / 10) continue;  // warm-up
      out[p].seconds += std::chrono::duration<double>(Clock::now() - t0).count();
      if (us >= 0) out[p].us.push_back(us);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 9) {
    std::fprintf(stderr, "usage: capture_bench EBPF_NETNS NFT_NETNS POD_IP CGROUP_ROOT BPFFS STATE_DIR_EBPF STATE_DIR_NFT SAMPLES\n");
    return 2;
  }
  base::log::set_level(base::log::Level::Warn);
  std::string ip = argv[3];
  int samples = std::atoi(argv[8]);
  datapath::CaptureOptions o;
  o.cgroup_root = argv[4];
  o.bpffs = argv[5];
  o.pin_dir = o.bpffs + "/meshd/v1";
  Side ebpf, nft;
  o.mode = datapath::CaptureMode::Ebpf;
  o.state_file = std::string(argv[6]) + "/workloads.state";
  o.pending_dir = std::string(argv[6]) + "/enroll.d";
  if (!start_side(o, argv[1], ip, ebpf)) return 1;
  o.mode = datapath::CaptureMode::Nftables;
  o.state_file = std::string(argv[7]) + "/workloads.state";
  o.pending_dir = std::string(argv[7]) + "/enroll.d";
  if (!start_side(o, argv[2], ip, nft)) return 1;
  std::vector<Listener> listeners;
  for (Side* side : {&ebpf, &nft})
    listeners.push_back({side->enrolled.listeners.outbound.get(), side->capture->resolver(), side->enrolled.netns_cookie});
  std::atomic<bool> stop{false};
  std::thread server(serve, std::cref(listeners), std::cref(stop));
  Stats s[4];
  measure(argv[1], argv[2], o.outbound_port, samples, s);
  stop = true;
  server.join();
  stop_side(nft);
  stop_side(ebpf);
  std::printf("connect + first byte, sequential, %d samples per path, the four paths interleaved\n", samples);
  report("direct (eBPF pod)", s[0]);
  report("eBPF capture", s[1]);
  report("direct (nftables pod)", s[2]);
  report("nftables capture", s[3]);
  auto p50 = [](const Stats& st) { return st.us.empty() ? 0.0 : st.us[st.us.size() / 2]; };
  std::printf("p50 ratios: eBPF/direct = %.3f   nftables/direct = %.3f   eBPF/nftables = %.3f\n",
              p50(s[1]) / p50(s[0]), p50(s[3]) / p50(s[2]), p50(s[1]) / p50(s[3]));
  return 0;
}
