// churn: new connections as fast as --concurrency blocking threads can make them, each one
// carrying one --size request and its answer, then closed (by the client: FIN). Prints one
// JSON line: flows completed per second of wall time, failures, and the p50/p99 of a whole
// flow (connect + request + answer). Bounded by --duration and by 100 failures in a row.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "bench/l4/modes.hpp"

namespace mesh::bench {
namespace {

bool one_flow(const base::SocketAddr& target, const std::vector<uint8_t>& req, std::vector<uint8_t>& resp,
              int timeout_ms) {
  base::Fd fd(::socket(target.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return false;
  sockaddr_storage ss;
  socklen_t len = target.to_sockaddr(ss);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return false;
  set_nodelay(fd.get());
  return write_all(fd.get(), req.data(), req.size(), timeout_ms) &&
         read_exact(fd.get(), resp.data(), resp.size(), timeout_ms);
}

}  // namespace

int run_churn(const Options& opts) {
  if (!opts.check_known({"target", "concurrency", "duration", "size", "response-size", "timeout"})) return 2;
  const base::SocketAddr target = parse_addr_or_exit(opts.str("target", ""));
  const int threads = std::clamp(static_cast<int>(opts.num("concurrency", 8)), 1, 256);
  const double duration = std::clamp(opts.num("duration", 3), 0.1, 600.0);
  const size_t size = static_cast<size_t>(opts.num("size", 1024));
  const size_t resp_size = static_cast<size_t>(opts.num("response-size", static_cast<double>(size)));
  const int timeout_ms = static_cast<int>(opts.num("timeout", 5) * 1000);
  raise_nofile();
  std::atomic<uint64_t> ok{0}, failed{0};
  std::atomic<bool> give_up{false};
  std::vector<std::vector<uint32_t>> lat(static_cast<size_t>(threads));  // µs per flow
  const uint64_t t0 = now_ns(), end = t0 + static_cast<uint64_t>(duration * 1e9);
  const uint64_t cpu0 = cpu_ns();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::vector<uint8_t> req(size, 'q'), resp(resp_size);
      int in_a_row = 0;
      while (!stop_requested() && !give_up && now_ns() < end) {
        uint64_t s = now_ns();
        if (one_flow(target, req, resp, timeout_ms)) {
          ++ok;
          in_a_row = 0;
          lat[static_cast<size_t>(t)].push_back(static_cast<uint32_t>((now_ns() - s) / 1000));
        } else {
          ++failed;
          if (++in_a_row >= 100) give_up = true;
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  const double wall = static_cast<double>(now_ns() - t0) / 1e9;
  std::vector<uint32_t> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all.empty() ? 0.0 : static_cast<double>(all[static_cast<size_t>(p * (all.size() - 1))]); };
  std::printf("{\"flows\": %llu, \"failed\": %llu, \"seconds\": %.3f, \"flows_per_s\": %.1f, \"flow_us\": "
              "{\"p50\": %.1f, \"p99\": %.1f}, \"client_cpu_s\": %.3f}\n",
              static_cast<unsigned long long>(ok.load()), static_cast<unsigned long long>(failed.load()), wall,
              static_cast<double>(ok.load()) / wall, pct(0.5), pct(0.99),
              static_cast<double>(cpu_ns() - cpu0) / 1e9);
  return 0;
}

}  // namespace mesh::bench
