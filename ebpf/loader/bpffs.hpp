#pragma once
// bpffs helpers: make sure a BPF filesystem is mounted where the pins go (mounting one when
// it is missing, as systemd and cilium do), create the versioned pin directories with mode
// 0700, and remove a pin tree on uninstall. Stateless functions; any thread.
#include <string>

#include "daemon/base/result.hpp"

namespace mesh::ebpf {

inline constexpr long kBpfFsMagic = 0xcafe4a11;

// True if `path` is on a bpffs instance.
bool is_bpffs(const std::string& path);

// Mounts bpffs at `mount_point` (mode 0700) unless one is already there.
base::Status ensure_bpffs(const std::string& mount_point);

// mkdir -p with mode 0700 for every created component.
base::Status make_dirs(const std::string& path);

// Removes every pin under `dir` (files and sub-directories) and `dir` itself.
base::Status remove_pin_tree(const std::string& dir);

}  // namespace mesh::ebpf
