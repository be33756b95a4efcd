#include "ebpf/loader/bpffs.hpp"

#include <dirent.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>

namespace mesh::ebpf {

bool is_bpffs(const std::string& path) {
  struct statfs st {};
  return ::statfs(path.c_str(), &st) == 0 && static_cast<long>(st.f_type) == kBpfFsMagic;
}

base::Status make_dirs(const std::string& path) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    std::string prefix = path.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST)
      return base::fail_errno("create directory '" + prefix + "'", errno);
  }
  return base::ok();
}

base::Status ensure_bpffs(const std::string& mount_point) {
  if (is_bpffs(mount_point)) return base::ok();
  if (auto st = make_dirs(mount_point); !st) return st;
  if (::mount("bpf", mount_point.c_str(), "bpf", 0, "mode=0700") != 0)
    return base::fail_errno("mount bpffs at '" + mount_point + "'", errno);
  return base::ok();
}

base::Status remove_pin_tree(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return base::ok();
    return base::fail_errno("open pin directory '" + dir + "'", errno);
  }
  base::Status result = base::ok();
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::string child = dir + "/" + name;
    struct stat st {};
    if (::lstat(child.c_str(), &st) != 0) continue;
    base::Status st_child = S_ISDIR(st.st_mode) ? remove_pin_tree(child) : base::ok();
    if (!S_ISDIR(st.st_mode) && ::unlink(child.c_str()) != 0)
      st_child = base::fail_errno("remove pin '" + child + "'", errno);
    if (!st_child && result) result = st_child;
  }
  ::closedir(d);
  if (::rmdir(dir.c_str()) != 0 && errno != ENOENT && result)
    result = base::fail_errno("remove pin directory '" + dir + "'", errno);
  return result;
}

}  // namespace mesh::ebpf
