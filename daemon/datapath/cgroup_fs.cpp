#include "daemon/datapath/cgroup_fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <vector>

namespace mesh::datapath {
namespace {

constexpr long kCgroup2Magic = 0x63677270;

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < line.size()) {
    size_t end = line.find(' ', pos);
    if (end == std::string_view::npos) end = line.size();
    if (end > pos) out.push_back(line.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

}  // namespace

base::Result<std::string> find_cgroup2_mount(std::string_view mountinfo) {
  // id parent major:minor root mount-point options [optional...] - fstype source super
  size_t pos = 0;
  while (pos < mountinfo.size()) {
    size_t end = mountinfo.find('\n', pos);
    if (end == std::string_view::npos) end = mountinfo.size();
    auto f = fields(mountinfo.substr(pos, end - pos));
    pos = end + 1;
    for (size_t i = 6; i + 1 < f.size(); ++i) {
      if (f[i] == "-" && f[i + 1] == "cgroup2" && f.size() > 4) return std::string(f[4]);
    }
  }
  return base::fail(base::Errc::NotFound, "no cgroup2 mount in mountinfo");
}

base::Result<std::string> find_cgroup2_mount() {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return base::fail_errno("read /proc/self/mountinfo", errno);
  std::stringstream ss;
  ss << in.rdbuf();
  return find_cgroup2_mount(ss.str());
}

base::Result<std::string> resolve_cgroup_path(const std::string& mount, const std::string& path) {
  if (path.empty() || path == "/") return mount;
  if (path.find("..") != std::string::npos)
    return base::fail(base::Errc::Invalid, "cgroup path '" + path + "' must not contain '..'");
  if (path.front() == '/') {
    if (path.rfind(mount + "/", 0) == 0 || path == mount) return path;
    return base::fail(base::Errc::Invalid, "cgroup '" + path + "' is not under the cgroup2 mount " + mount);
  }
  return mount + "/" + path;
}

base::Result<CgroupDir> open_cgroup(const std::string& path) {
  int raw = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (raw < 0) {
    if (errno == ENOENT) return base::fail(base::Errc::NotFound, "cgroup '" + path + "' does not exist");
    return base::fail_errno("open cgroup '" + path + "'", errno);
  }
  base::Fd fd(raw);
  struct statfs sfs {};
  if (::fstatfs(fd.get(), &sfs) != 0 || static_cast<long>(sfs.f_type) != kCgroup2Magic)
    return base::fail(base::Errc::Invalid, "'" + path + "' is not a cgroup v2 directory");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return base::fail_errno("stat cgroup '" + path + "'", errno);
  return CgroupDir{std::move(fd), st.st_ino, path};
}

}  // namespace mesh::datapath
