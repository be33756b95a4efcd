// Privileged test of the enrollment engine itself (daemon/datapath/capture): all-or-nothing
// enrollment when a stage fails or the netns vanishes mid-enrollment, restart from the state
// file and the pending directory, auto fallback with a reason, nft failure rollback. Runs in
// a private mount namespace with its own bpffs, /run/netns and a cgroup it creates. Exit 77
// when not root.
#include <netinet/in.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <string>

#include "daemon/datapath/capture.hpp"
#include "daemon/datapath/cgroup_fs.hpp"
#include "daemon/datapath/state_file.hpp"

using namespace mesh;
using namespace mesh::datapath;

namespace {

int failures = 0;
void check(bool cond, const std::string& what, const std::string& detail = "") {
  std::printf("%s %s%s%s\n", cond ? "ok  " : "FAIL", what.c_str(), detail.empty() ? "" : ": ", detail.c_str());
  if (!cond) ++failures;
}

int sh(const std::string& cmd) { return std::system(cmd.c_str()); }

// Number of entries in a pinned map (-1 if it cannot be opened).
int map_entries(const std::string& pin) {
  int fd = bpf_obj_get(pin.c_str());
  if (fd < 0) return -1;
  uint8_t key[64], next[64];
  int n = 0;
  void* prev = nullptr;
  while (n < 100000 && bpf_map_get_next_key(fd, prev, next) == 0) {
    std::memcpy(key, next, sizeof(key));
    prev = key;
    ++n;
  }
  ::close(fd);
  return n;
}

// True if nothing listens on [::]:port inside the netns (we can bind it ourselves).
bool port_free_in(const std::string& netns, uint16_t port) {
  auto ns = Netns::open(netns);
  if (!ns) return false;
  auto scope = NetnsScope::enter(*ns);
  int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons(port);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
  ::close(fd);
  return ok;
}

WorkloadSpec pod(const std::string& name, const std::string& ip) {
  return WorkloadSpec{name, "default", "sa", "/run/netns/" + name, "", {*base::IpAddr::parse(ip)}};
}

struct Env {
  std::string tmp, bpffs, cgroup;
  CaptureOptions options(CaptureMode mode) const {
    CaptureOptions o;
    o.mode = mode;
    o.bpffs = bpffs;
    o.pin_dir = bpffs + "/meshd/v1";
    o.state_file = tmp + "/workloads.state";
    o.pending_dir = tmp + "/enroll.d";
    o.cgroup_root = cgroup;
    return o;
  }
};

void vanish_and_stage_failures(const Env& env) {
  sh("ip netns add cv1");
  auto o = env.options(CaptureMode::Ebpf);
  o.stage_hook = [](std::string_view stage) -> base::Status {
    if (stage == "installed") sh("ip netns del cv1");
    return base::ok();
  };
  auto cap = Capture::create(o);
  check(static_cast<bool>(cap), "eBPF capture starts");
  if (!cap) return;
  auto e = (*cap)->enroll(pod("cv1", "198.18.9.2"));
  check(!e && e.error().message().find("vanished") != std::string::npos,
        "a netns that vanishes mid-enrollment fails the enrollment", e ? "" : e.error().message());
  check((*cap)->workloads().empty(), "nothing is recorded after the vanished netns");
  check(map_entries(o.pin_dir + "/maps/mesh_pods") == 0 && map_entries(o.pin_dir + "/maps/mesh_pod_ips") == 0,
        "no map entry is left after the vanished netns");
  check(map_entries(o.pin_dir + "/maps/mesh_inbound") == 0, "no inbound listener is left in the SOCKHASH");
  check(sh("ls " + o.pin_dir + "/links | grep -q '^ns'") != 0, "no sk_lookup link is left pinned");
  cap->reset();
  sh("ip netns add cv2");
  o.stage_hook = [](std::string_view stage) -> base::Status {
    return stage == "listeners" ? base::Status(base::fail(base::Errc::Internal, "injected")) : base::ok();
  };
  cap = Capture::create(o);
  e = (*cap)->enroll(pod("cv2", "198.18.9.3"));
  check(!e, "a failing stage fails the enrollment");
  check(port_free_in("/run/netns/cv2", 15001) && port_free_in("/run/netns/cv2", 15006),
        "the listeners of a failed enrollment are closed");
  check(map_entries(o.pin_dir + "/maps/mesh_pod_ips") == 0, "a failed enrollment leaves no map entry");
}

void restart_and_pending(const Env& env) {
  auto o = env.options(CaptureMode::Ebpf);
  uint64_t cookie = 0;
  {
    auto cap = Capture::create(o);
    auto e = (*cap)->enroll(pod("cv2", "198.18.9.3"));
    check(e && e->listeners.outbound && e->listeners.inbound && e->listeners.tunnel,
          "an enrollment returns the three listeners", e ? "" : e.error().message());
    if (e) cookie = e->netns_cookie;
    check(cookie == *(*Netns::open("/run/netns/cv2")).cookie(), "the enrollment reports the pod's netns cookie");
    check(map_entries(o.pin_dir + "/maps/mesh_pods") == 1, "the pod's netns cookie is in mesh_pods");
  }  // daemon "exits": listeners close, pins stay
  check(map_entries(o.pin_dir + "/maps/mesh_pods") == 1, "enrollment survives the daemon (fail closed)");
  check(map_entries(o.pin_dir + "/maps/mesh_inbound") == 0, "the dead daemon's listeners left the SOCKHASH");
  sh("ip netns add cv3");
  check(static_cast<bool>(write_pending(o.pending_dir, pod("cv3", "198.18.9.4"))), "an enrollment is queued while the daemon is down");
  auto cap = Capture::create(o);
  auto restored = (*cap)->restore();
  check(restored.size() == 2, "restart restores the recorded workload and picks up the pending one",
        std::to_string(restored.size()));
  check(map_entries(o.pin_dir + "/maps/mesh_inbound") == 2, "restored listeners are back in the SOCKHASH");
  check(read_pending(o.pending_dir).empty(), "the pending request is consumed");
  auto state = load_state(o.state_file);
  check(state && state->size() == 2, "the state file lists both workloads");
  check(static_cast<bool>((*cap)->unenroll("cv2")) && static_cast<bool>((*cap)->unenroll("cv3")), "unenroll both");
  check(map_entries(o.pin_dir + "/maps/mesh_pods") == 0 && map_entries(o.pin_dir + "/maps/mesh_pod_ips") == 0,
        "unenroll removes every map entry");
  check(static_cast<bool>((*cap)->uninstall()), "uninstall succeeds");
  check(::access(o.pin_dir.c_str(), F_OK) != 0, "uninstall removes the pin directory");
}

void fallback_and_nft_rollback(const Env& env) {
  {
    auto first = Capture::create(env.options(CaptureMode::Ebpf));
    check(first && ::access((env.bpffs + "/meshd/v1/links").c_str(), F_OK) == 0, "an eBPF run leaves pins");
  }
  auto switched = Capture::create(env.options(CaptureMode::Nftables));
  check(switched && ::access((env.bpffs + "/meshd/v1").c_str(), F_OK) != 0,
        "switching to nftables removes the eBPF pins (no stale capture left)");
  auto o = env.options(CaptureMode::Auto);
  o.pin_dir = env.tmp + "/not-bpffs/meshd/v1";
  auto cap = Capture::create(o);
  check(cap && (*cap)->mode().mode == CaptureMode::Nftables &&
            (*cap)->mode().reason.find("eBPF unavailable") != std::string::npos,
        "auto mode falls back to nftables and says why", cap ? (*cap)->mode().reason : "");
  o = env.options(CaptureMode::Nftables);
  o.nft_command = "/bin/false";
  cap = Capture::create(o);
  auto e = (*cap)->enroll(pod("cv2", "198.18.9.3"));
  check(!e, "a failing nft run fails the enrollment", e ? "" : e.error().message());
  check(port_free_in("/run/netns/cv2", 15001) && (*cap)->workloads().empty(),
        "a failed nft enrollment leaves no listener and no record");
}

}  // namespace

int main() {
  if (::geteuid() != 0) {
    std::printf("SKIP: needs root\n");
    return 77;
  }
  if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    std::printf("SKIP: no private mount namespace\n");
    return 77;
  }
  auto cg2 = find_cgroup2_mount();
  if (!cg2) {
    std::printf("SKIP: no cgroup2\n");
    return 77;
  }
  char t[] = "/tmp/mesh-capture-XXXXXX";
  Env env{::mkdtemp(t), "", ""};
  env.bpffs = env.tmp + "/bpffs";
  env.cgroup = *cg2 + "/meshtest-unit-" + std::to_string(::getpid());
  sh("mkdir -p /run/netns " + env.bpffs + " " + env.cgroup);
  sh("mount -t tmpfs meshtest /run/netns && mount -t bpf bpf " + env.bpffs);
  vanish_and_stage_failures(env);
  restart_and_pending(env);
  fallback_and_nft_rollback(env);
  sh("ip netns del cv2 2>/dev/null; ip netns del cv3 2>/dev/null");
  sh("umount " + env.bpffs + "; rm -rf " + env.tmp);
  check(::rmdir(env.cgroup.c_str()) == 0, "the test cgroup is removed (no link or process left in it)");
  std::printf("%d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}
