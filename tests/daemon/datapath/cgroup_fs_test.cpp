#include "daemon/datapath/cgroup_fs.hpp"

#include <doctest/doctest.h>

using namespace mesh::datapath;

TEST_CASE("the cgroup2 mount is found in hybrid-mode mountinfo") {
  const char* info =
      "35 24 0:30 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
      "36 35 0:31 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate\n"
      "37 35 0:32 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n";
  auto m = find_cgroup2_mount(info);
  REQUIRE(m);
  CHECK(*m == "/sys/fs/cgroup/unified");
}

TEST_CASE("mountinfo without cgroup2 is NotFound") {
  auto m = find_cgroup2_mount("37 35 0:32 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd\n");
  REQUIRE_FALSE(m);
  CHECK(m.error().code() == mesh::base::Errc::NotFound);
}

TEST_CASE("cgroup paths resolve against the mount and may not escape it") {
  CHECK(*resolve_cgroup_path("/sys/fs/cgroup", "") == "/sys/fs/cgroup");
  CHECK(*resolve_cgroup_path("/sys/fs/cgroup", "system.slice/a.service") == "/sys/fs/cgroup/system.slice/a.service");
  CHECK(*resolve_cgroup_path("/sys/fs/cgroup", "/sys/fs/cgroup/x") == "/sys/fs/cgroup/x");
  CHECK_FALSE(resolve_cgroup_path("/sys/fs/cgroup", "/etc/x"));
  CHECK_FALSE(resolve_cgroup_path("/sys/fs/cgroup", "a/../../etc"));
}

TEST_CASE("a directory that is not on cgroup2 is refused") {
  auto cg = open_cgroup("/tmp");
  REQUIRE_FALSE(cg);
  CHECK(cg.error().code() == mesh::base::Errc::Invalid);
  CHECK(open_cgroup("/nonexistent-cgroup-dir").error().code() == mesh::base::Errc::NotFound);
}
