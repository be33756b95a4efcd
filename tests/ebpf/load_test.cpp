// Load-only test (privileged suite): opens and loads the capture object — the verifier must
// accept every program — with its maps pinned in a private bpffs instance, attaches nothing,
// loads it a second time to prove pinned maps are reused (same map ids), and checks the map
// layouts the kernel reports against the ABI header. Exit 77 when not root.
#include <bpf/bpf.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "ebpf/loader/bpffs.hpp"
#include "ebpf/loader/capture_programs.hpp"

using namespace mesh;

namespace {

int failures = 0;

void check(bool cond, const char* what) {
  std::printf("%s %s\n", cond ? "ok  " : "FAIL", what);
  if (!cond) ++failures;
}

uint32_t map_id(int fd, bpf_map_info* info) {
  uint32_t len = sizeof(*info);
  *info = {};
  return bpf_obj_get_info_by_fd(fd, info, &len) == 0 ? info->id : 0;
}

}  // namespace

int main() {
  if (::geteuid() != 0) {
    std::printf("SKIP: needs root\n");
    return 77;
  }
  // A private mount namespace: the bpffs mounted below disappears with this process.
  if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    std::printf("SKIP: cannot create a private mount namespace\n");
    return 77;
  }
  char dir[] = "/tmp/mesh-load-XXXXXX";
  if (::mkdtemp(dir) == nullptr) return 1;
  std::string bpffs = std::string(dir) + "/bpffs";
  check(static_cast<bool>(ebpf::ensure_bpffs(bpffs)), "mount a private bpffs");
  check(ebpf::is_bpffs(bpffs), "the mount is bpffs");
  std::string pins = bpffs + "/meshd/v1";
  auto first = ebpf::CapturePrograms::load(pins);
  if (!first) std::printf("load: %s\n", first.error().message().c_str());
  check(static_cast<bool>(first), "the verifier accepts every capture program");
  if (first) {
    bpf_map_info a{}, b{};
    uint32_t id1 = map_id((*first)->maps().pods.fd(), &a);
    check(a.key_size == sizeof(uint64_t) && a.value_size == sizeof(mesh_workload), "mesh_pods layout matches the ABI");
    map_id((*first)->maps().orig_tup.fd(), &a);
    check(a.key_size == sizeof(mesh_tuple_key) && a.value_size == sizeof(mesh_orig), "mesh_orig_tup layout matches the ABI");
    map_id((*first)->maps().excl_cidr.fd(), &a);
    check(a.key_size == sizeof(mesh_cidr_key), "mesh_excl_cidr layout matches the ABI");
    map_id((*first)->maps().config.fd(), &a);
    check(a.value_size == sizeof(mesh_config), "mesh_config layout matches the ABI");
    auto second = ebpf::CapturePrograms::load(pins);
    check(second && map_id((*second)->maps().pods.fd(), &b) == id1, "a second load reuses the pinned maps");
    auto links = (*first)->pinned_links();
    check(links && links->empty(), "loading attaches nothing");
  }
  first = base::fail(base::Errc::Closed, "");
  check(static_cast<bool>(ebpf::remove_pin_tree(bpffs + "/meshd")), "pins removed");
  ::umount(bpffs.c_str());
  ::rmdir(bpffs.c_str());
  ::rmdir(dir);
  std::printf("%d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}
