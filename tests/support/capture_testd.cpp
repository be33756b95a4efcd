// capture_testd: the stand-in node daemon for the capture tests, until the real meshd runs
// them. It drives daemon/datapath exactly as meshd will (Capture::create, restore, enroll,
// unenroll, collect_garbage, resolver after accept) but proxies with plain threads:
//   outbound (15001): original destination from the resolver → connect from the workload's
//     netns, marked SO_MARK (so capture skips it), to that destination (or to the backend of a
//     --service VIP) → relay.
//   inbound (15006): original destination (getsockname / SO_ORIGINAL_DST) → connect from
//     127.0.0.6 (::1 for IPv6), marked, in the workload's netns → relay.
// One line per accepted connection goes to --events, for the tests' assertions. Commands
// arrive on the unix socket --control, one per connection (see capture_testd_control.cpp).
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "daemon/base/log.hpp"
#include "tests/support/capture_testd.hpp"

using namespace mesh;

namespace {

void usage() {
  std::fprintf(stderr,
               "usage: capture_testd --control SOCK --events FILE --state-file F --pending-dir D\n"
               "  --bpffs DIR --pin-dir DIR --cgroup-root CG [--mode auto|ebpf|nftables]\n"
               "  [--exclude-out-port P] [--exclude-in-port P] [--exclude-out-cidr C]\n"
               "  [--exclude-in-cidr C] [--service VIP:PORT=BACKEND:PORT] [--uninstall]\n");
  std::exit(2);
}

template <class T>
T must(base::Result<T> r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "capture_testd: bad %s: %s\n", what, r.error().message().c_str());
    std::exit(2);
  }
  return std::move(*r);
}

testsupport::TestdOptions parse(int argc, char** argv) {
  testsupport::TestdOptions o;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--uninstall") {
      o.uninstall = true;
      continue;
    }
    if (i + 1 >= argc) usage();
    std::string v = argv[++i];
    auto& c = o.capture;
    if (k == "--control") o.control = v;
    else if (k == "--events") o.events = v;
    else if (k == "--state-file") c.state_file = v;
    else if (k == "--pending-dir") c.pending_dir = v;
    else if (k == "--bpffs") c.bpffs = v;
    else if (k == "--pin-dir") c.pin_dir = v;
    else if (k == "--cgroup-root") c.cgroup_root = v;
    else if (k == "--mode") c.mode = must(datapath::parse_capture_mode(v), "mode");
    else if (k == "--exclude-out-port") c.exclude_outbound_ports.push_back(static_cast<uint16_t>(std::stoi(v)));
    else if (k == "--exclude-in-port") c.exclude_inbound_ports.push_back(static_cast<uint16_t>(std::stoi(v)));
    else if (k == "--exclude-out-cidr") c.exclude_outbound_cidrs.push_back(must(base::Cidr::parse(v), "cidr"));
    else if (k == "--exclude-in-cidr") c.exclude_inbound_cidrs.push_back(must(base::Cidr::parse(v), "cidr"));
    else if (k == "--service") {
      auto eq = v.find('=');
      if (eq == std::string::npos) usage();
      o.services[must(base::SocketAddr::parse(v.substr(0, eq)), "service")] =
          must(base::SocketAddr::parse(v.substr(eq + 1)), "service backend");
    } else usage();
  }
  if (!o.uninstall && (o.control.empty() || o.events.empty())) usage();
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  base::log::set_level(base::log::Level::Info);
  auto opts = parse(argc, argv);
  auto capture = datapath::Capture::create(opts.capture);
  if (!capture) {
    base::log::error("failed to start capture: {}", capture.error().message());
    return 1;
  }
  if (opts.uninstall) {
    auto st = (*capture)->uninstall();
    if (!st) base::log::error("failed to uninstall capture: {}", st.error().message());
    return st ? 0 : 1;
  }
  testsupport::TestDaemon daemon(std::move(opts), std::move(*capture));
  return daemon.run();
}
