// hold: opens idle relayed connections for the memory measurement. Connections are opened one
// at a time; each must carry one --size request and its answer before it counts, which proves
// the proxy has dialled the backend for it (and has touched whatever a connection that once
// carried data keeps). At every --steps count it prints a JSON line and waits for a line on
// stdin: "next" opens more, anything else or EOF closes everything and exits. Gives up after
// 50 failures in a row; never runs longer than --max-seconds.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench/l4/modes.hpp"

namespace mesh::bench {
namespace {

// Connects and does one request/response; an invalid Fd on any failure.
base::Fd open_one(const base::SocketAddr& target, const std::vector<uint8_t>& req, size_t resp_size, int timeout_ms) {
  base::Fd fd = start_connect(target);
  if (!fd) return {};
  pollfd p{fd.get(), POLLOUT, 0};
  if (::poll(&p, 1, timeout_ms) != 1) return {};
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return {};
  std::vector<uint8_t> resp(resp_size);
  if (!write_all(fd.get(), req.data(), req.size(), timeout_ms)) return {};
  if (!read_exact(fd.get(), resp.data(), resp.size(), timeout_ms)) return {};
  return fd;
}

// Waits for a command line on stdin until `deadline`; "" on EOF, timeout or stop.
std::string read_command(uint64_t deadline) {
  std::string line;
  while (!stop_requested()) {
    uint64_t now = now_ns();
    if (now >= deadline) return "";
    pollfd p{STDIN_FILENO, POLLIN, 0};
    int r = ::poll(&p, 1, 100);
    if (r <= 0) continue;
    char ch;
    ssize_t n = ::read(STDIN_FILENO, &ch, 1);
    if (n <= 0) return "";
    if (ch == '\n') return line;
    line.push_back(ch);
  }
  return "";
}

std::vector<size_t> parse_steps(const std::string& text, size_t fallback) {
  std::vector<size_t> steps;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    steps.push_back(std::strtoul(text.substr(pos, comma - pos).c_str(), nullptr, 10));
    pos = comma + 1;
  }
  if (steps.empty()) steps.push_back(fallback);
  return steps;
}

}  // namespace

int run_hold(const Options& opts) {
  if (!opts.check_known({"target", "connections", "steps", "size", "response-size", "timeout", "max-seconds", "request-file"})) {
    return 2;
  }
  uint64_t nofile = raise_nofile();
  auto target = parse_addr_or_exit(opts.str("target", ""));
  auto count = static_cast<size_t>(opts.num("connections", 1000));
  auto steps = parse_steps(opts.str("steps", ""), count);
  std::vector<uint8_t> req = request_bytes(opts, 'h');
  size_t size = req.size();
  auto resp_size = static_cast<size_t>(opts.num("response-size", static_cast<double>(size)));
  auto timeout_ms = static_cast<int>(opts.num("timeout", 2) * 1000);
  uint64_t deadline = now_ns() + static_cast<uint64_t>(opts.num("max-seconds", 600) * 1e9);
  if (size == 0 || resp_size == 0 || steps.back() + 16 > nofile) {
    std::fprintf(stderr, "l4_loadgen hold: need --size > 0 and fewer connections than RLIMIT_NOFILE (%llu)\n",
                 static_cast<unsigned long long>(nofile));
    return 2;
  }
  std::vector<base::Fd> open;
  open.reserve(steps.back());
  uint64_t failed = 0, in_a_row = 0, start = now_ns();
  for (size_t step : steps) {
    while (open.size() < step && in_a_row < 50 && !stop_requested() && now_ns() < deadline) {
      base::Fd fd = open_one(target, req, resp_size, timeout_ms);
      if (fd) {
        open.push_back(std::move(fd));
        in_a_row = 0;
      } else {
        ++failed;
        ++in_a_row;
      }
    }
    std::printf("{\"mode\":\"hold\",\"step\":%zu,\"open\":%zu,\"failed\":%llu,\"elapsed_s\":%.3f}\n", step, open.size(),
                static_cast<unsigned long long>(failed), static_cast<double>(now_ns() - start) / 1e9);
    std::fflush(stdout);
    if (read_command(deadline) != "next") break;
  }
  return 0;  // closing `open` closes every connection
}

}  // namespace mesh::bench
