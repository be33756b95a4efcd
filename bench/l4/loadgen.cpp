// l4_loadgen: the L4 relay benchmark's traffic tool (see modes.hpp). Used by
// bench/l4/run.py; usable by hand:
//   l4_loadgen serve --listen 127.0.0.1:0 [--size 1024] [--threads 1]
//   l4_loadgen load --target 127.0.0.1:PORT --connections 100 --rate 20000 --duration 5
//   l4_loadgen hold --target 127.0.0.1:PORT --steps 4500,9000
//   l4_loadgen churn --target 127.0.0.1:PORT --concurrency 8 --duration 3
#include <csignal>
#include <cstdio>
#include <cstring>

#include "bench/l4/modes.hpp"

namespace mesh::bench {
namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) { g_stop = 1; }

}  // namespace

bool stop_requested() { return g_stop != 0; }

void install_stop_handlers() {
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

}  // namespace mesh::bench

int main(int argc, char** argv) {
  using namespace mesh::bench;
  const char* usage =
      "usage: l4_loadgen serve|load|hold|churn [--name value]...\n"
      "  serve --listen ADDR --size N --response-size N --threads N --max-seconds S\n"
      "  load  --target ADDR --connections N --rate R --duration S --warmup S --size N\n"
      "        [--request-file F: one request's exact bytes instead of --size]\n"
      "        --response-size N --drain S --connect-timeout S\n"
      "  hold  --target ADDR --connections N --steps A,B,... --size N --timeout S --max-seconds S [--request-file F]\n"
      "  churn --target ADDR --concurrency N --duration S --size N --response-size N --timeout S\n";
  if (argc < 2) {
    std::fputs(usage, stderr);
    return 2;
  }
  Options opts;
  if (!opts.parse(argc, argv, 2)) return 2;
  install_stop_handlers();
  if (std::strcmp(argv[1], "serve") == 0) return run_serve(opts);
  if (std::strcmp(argv[1], "load") == 0) return run_load(opts);
  if (std::strcmp(argv[1], "hold") == 0) return run_hold(opts);
  if (std::strcmp(argv[1], "churn") == 0) return run_churn(opts);
  std::fputs(usage, stderr);
  return 2;
}
