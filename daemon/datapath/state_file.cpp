#include "daemon/datapath/state_file.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>

#include <fmt/format.h>

namespace mesh::datapath {
namespace {

constexpr std::string_view kHeader = "meshd-workloads 1";

base::Status make_parent_dirs(const std::string& path) {
  for (size_t pos = 1; pos < path.size(); ++pos) {
    if (path[pos] != '/') continue;
    std::string prefix = path.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST)
      return base::fail_errno("create directory '" + prefix + "'", errno);
  }
  return base::ok();
}

base::Status write_atomically(const std::string& path, const std::string& text) {
  if (auto st = make_parent_dirs(path); !st) return st;
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return base::fail_errno("create '" + tmp + "'", errno);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      return base::fail_errno("write '" + tmp + "'", err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    return base::fail_errno("sync '" + tmp + "'", err);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return base::fail_errno("rename to '" + path + "'", errno);
  return base::ok();
}

}  // namespace

base::Result<std::vector<WorkloadRecord>> load_state(const std::string& path) {
  std::ifstream in(path);
  std::vector<WorkloadRecord> out;
  if (!in) {
    if (errno == ENOENT) return out;
    return base::fail_errno("read state file '" + path + "'", errno);
  }
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (lineno == 1) {
      if (line != kHeader)
        return base::fail(base::Errc::Invalid, fmt::format("{}:1: expected header '{}'", path, kHeader));
      continue;
    }
    if (line.empty()) continue;
    auto rec = decode_record(line);
    if (!rec) return base::fail(base::Errc::Invalid, fmt::format("{}:{}: {}", path, lineno, rec.error().message()));
    out.push_back(std::move(*rec));
  }
  return out;
}

base::Status save_state(const std::string& path, const std::vector<WorkloadRecord>& records) {
  std::string text(kHeader);
  text += '\n';
  for (const auto& r : records) text += encode(r) + '\n';
  return write_atomically(path, text);
}

std::vector<PendingEnrollment> read_pending(const std::string& dir) {
  std::vector<PendingEnrollment> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() > 9 && name.ends_with(".workload")) names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    std::string file = dir + "/" + name;
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);
    auto spec = decode_spec(line);
    if (!spec) spec = base::fail(std::move(spec.error()).wrap(file));
    out.push_back(PendingEnrollment{file, std::move(spec)});
  }
  return out;
}

base::Status write_pending(const std::string& dir, const WorkloadSpec& spec) {
  if (auto st = validate(spec); !st) return st;
  return write_atomically(dir + "/" + spec.name + ".workload", encode(spec) + "\n");
}

}  // namespace mesh::datapath
