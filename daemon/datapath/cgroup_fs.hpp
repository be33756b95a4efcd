#pragma once
// cgroup v2 helpers: where the cgroup2 hierarchy is mounted (found in /proc/self/mountinfo,
// since hybrid hosts mount it at /sys/fs/cgroup/unified), resolving a configured path
// against it, and a cgroup directory's id (the value bpf_get_current_cgroup_id returns).
// Stateless functions; any thread.
#include <cstdint>
#include <string>
#include <string_view>

#include "daemon/base/fd.hpp"
#include "daemon/base/result.hpp"

namespace mesh::datapath {

// The first cgroup2 mount point listed in `mountinfo` text (NotFound if none).
base::Result<std::string> find_cgroup2_mount(std::string_view mountinfo);
base::Result<std::string> find_cgroup2_mount();  // reads /proc/self/mountinfo

// `path` absolute (must lie under `mount`) or relative to `mount`; "" is the mount itself.
base::Result<std::string> resolve_cgroup_path(const std::string& mount, const std::string& path);

struct CgroupDir {
  base::Fd fd;      // O_DIRECTORY, for attaching programs
  uint64_t id = 0;  // kernfs id == inode number on cgroup2
  std::string path;
};

// Opens an existing cgroup v2 directory (NotFound / Invalid if it is not on cgroup2).
base::Result<CgroupDir> open_cgroup(const std::string& path);

}  // namespace mesh::datapath
