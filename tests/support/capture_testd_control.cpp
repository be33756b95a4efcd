// The stand-in daemon's control commands (one line in, text out), a subset of what meshd's
// admin API offers: enroll <encoded spec>, unenroll NAME, gc, status, workloads, counters,
// upgrade.
#include <fmt/format.h>

#include "tests/support/capture_testd.hpp"

namespace mesh::testsupport {

std::string TestDaemon::cmd_enroll(const std::string& args) {
  auto spec = datapath::decode_spec(args);
  if (!spec) return "error " + spec.error().message() + "\n";
  auto e = capture_->enroll(*spec);
  if (!e) return "error " + e.error().message() + "\n";
  uint64_t cookie = e->netns_cookie;
  start(std::move(*e));
  return fmt::format("ok cookie={}\n", cookie);
}

std::string TestDaemon::cmd_counters() {
  auto c = capture_->counters();
  std::string out;
  for (size_t i = 0; i < ebpf::kStatCount; ++i) out += fmt::format("{} {}\n", ebpf::kStatNames[i], c.bpf[i]);
  out += fmt::format("enrolled {}\nenroll_failed {}\nunenrolled {}\ncollected {}\norig_missing {}\n",
                     c.enrolled, c.enroll_failed, c.unenrolled, c.collected, misses_.load());
  return out;
}

std::string TestDaemon::command(const std::string& line) {
  size_t sp = line.find_first_of(" \t");
  std::string cmd = line.substr(0, sp);
  std::string args = sp == std::string::npos ? "" : line.substr(sp + 1);
  if (cmd == "enroll") return cmd_enroll(args);
  if (cmd == "unenroll") {
    auto st = capture_->unenroll(args);
    if (!st) return "error " + st.error().message() + "\n";
    stop(args);
    return "ok\n";
  }
  if (cmd == "gc") {
    std::string names;
    for (const auto& n : capture_->collect_garbage()) {
      stop(n);
      names += (names.empty() ? "" : ",") + n;
    }
    return "ok removed=" + names + "\n";
  }
  if (cmd == "status")
    return fmt::format("mode={} reason={}\n", to_string(capture_->mode().mode), capture_->mode().reason);
  if (cmd == "workloads") {
    std::string out;
    for (const auto& w : capture_->workloads())
      out += fmt::format("{} {} {} {}\n", w.record.spec.name, to_string(w.record.mode), w.status,
                         w.record.spec.bare_metal() ? "cgroup=" + w.record.spec.cgroup_path
                                                    : "netns=" + w.record.spec.netns_path);
    return out;
  }
  if (cmd == "counters") return cmd_counters();
  if (cmd == "upgrade") {
    auto st = capture_->upgrade();
    return st ? "ok\n" : "error " + st.error().message() + "\n";
  }
  return "error unknown command '" + cmd + "'\n";
}

}  // namespace mesh::testsupport
