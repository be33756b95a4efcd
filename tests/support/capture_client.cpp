// capture_client: a test client. One connection (default): connects, reads the server's first
// line, prints "getpeername=<a> getsockname=<b> reply=<line>" and exits 0; on failure prints
// "error=<refused|timeout|eperm|other> <message>" and exits 1.
//   --count N --concurrency C   N short connections over C threads; prints "ok=<n> failed=<m>".
//   --hold-ms D                 one connection kept for D ms, echoing a line every 50 ms.
//   --mark M                    SO_MARK on the client socket (needs CAP_NET_ADMIN).
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/capture_net.hpp"

using namespace mesh;

namespace {

std::string classify(const base::Error& e) {
  switch (e.sys_errno()) {
    case ECONNREFUSED: return "refused";
    case ETIMEDOUT: case EAGAIN: case EINPROGRESS: return "timeout";
    case EPERM: return "eperm";
    default: return e.code() == base::Errc::Timeout ? "timeout" : "other";
  }
}

struct Args {
  base::SocketAddr dst;
  int count = 0;
  int concurrency = 1;
  int hold_ms = 0;
  uint32_t mark = 0;
  int timeout_ms = 3000;
};

int one_shot(const Args& a) {
  testsupport::ConnectOptions co{a.timeout_ms, a.mark, nullptr, false};
  auto fd = testsupport::connect_to(a.dst, co);
  if (!fd) {
    std::printf("error=%s %s\n", classify(fd.error()).c_str(), fd.error().message().c_str());
    return 1;
  }
  auto line = testsupport::read_line(fd->get(), a.timeout_ms);
  if (!line) {
    std::printf("error=%s %s\n", classify(line.error()).c_str(), line.error().message().c_str());
    return 1;
  }
  std::printf("getpeername=%s getsockname=%s reply=%s\n", testsupport::peer_of(fd->get()).c_str(),
              testsupport::local_of(fd->get()).c_str(), line->c_str());
  if (a.hold_ms <= 0) return 0;
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(a.hold_ms);
  int n = 0;
  while (std::chrono::steady_clock::now() < end) {
    std::string ping = "ping " + std::to_string(n++);
    auto echo = testsupport::write_all(fd->get(), ping + "\n") ? testsupport::read_line(fd->get(), a.timeout_ms)
                                                                 : base::Result<std::string>(base::fail(base::Errc::Closed, "write"));
    if (!echo || *echo != ping) {
      std::printf("error=held connection broke after %d echoes\n", n - 1);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::printf("held echoes=%d\n", n);
  return 0;
}

int many(const Args& a) {
  std::atomic<int> ok{0}, failed{0}, next{0};
  std::string first_error;
  std::atomic<bool> have_error{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < a.concurrency; ++t) {
    threads.emplace_back([&] {
      while (next.fetch_add(1) < a.count) {
        testsupport::ConnectOptions co{a.timeout_ms, a.mark, nullptr, false};
        auto fd = testsupport::connect_to(a.dst, co);
        auto line = fd ? testsupport::read_line(fd->get(), a.timeout_ms) : base::Result<std::string>(base::fail(fd.error()));
        if (line && line->rfind("peer=", 0) == 0) {
          ++ok;
          continue;
        }
        ++failed;
        if (!have_error.exchange(true)) first_error = line ? "bad reply: " + *line : line.error().message();
      }
    });
  }
  for (auto& t : threads) t.join();
  std::printf("ok=%d failed=%d%s%s\n", ok.load(), failed.load(), have_error ? " first_error=" : "",
              first_error.c_str());
  return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  bool have_dst = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    std::string v = argv[i + 1];
    if (k == "--connect") {
      auto d = base::SocketAddr::parse(v);
      if (!d) break;
      a.dst = *d;
      have_dst = true;
    } else if (k == "--count") a.count = std::atoi(v.c_str());
    else if (k == "--concurrency") a.concurrency = std::max(1, std::atoi(v.c_str()));
    else if (k == "--hold-ms") a.hold_ms = std::atoi(v.c_str());
    else if (k == "--mark") a.mark = static_cast<uint32_t>(std::strtoul(v.c_str(), nullptr, 0));
    else if (k == "--timeout-ms") a.timeout_ms = std::atoi(v.c_str());
  }
  if (!have_dst) {
    std::fprintf(stderr, "usage: capture_client --connect ADDR:PORT [--count N --concurrency C] [--hold-ms D] [--mark M]\n");
    return 2;
  }
  return a.count > 0 ? many(a) : one_shot(a);
}
