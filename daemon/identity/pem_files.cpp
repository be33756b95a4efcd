#include "daemon/identity/pem_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include <fmt/format.h>

#include "daemon/base/fd.hpp"
#include "daemon/base/scope_exit.hpp"

namespace mesh::identity {

using base::Errc;
using base::fail;
using base::fail_errno;

base::Result<std::string> read_file(const std::string& path) {
  base::Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fail_errno(fmt::format("open '{}'", path), errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail_errno(fmt::format("stat '{}'", path), errno);
  if (!S_ISREG(st.st_mode)) return fail(Errc::Invalid, fmt::format("'{}' is not a regular file", path));
  if (static_cast<size_t>(st.st_size) > kMaxPemFileSize) {
    return fail(Errc::Limit, fmt::format("'{}' is larger than {} bytes", path, kMaxPemFileSize));
  }
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(fmt::format("read '{}'", path), errno);
    if (n == 0) break;  // truncated while we read: take what is there
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

base::Status write_file_atomic(const std::string& path, std::string_view content, mode_t mode) {
  std::string tmp = path + ".tmp";
  base::Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd) return fail_errno(fmt::format("create '{}'", tmp), errno);
  base::ScopeExit remove_tmp([&] { ::unlink(tmp.c_str()); });
  if (::fchmod(fd.get(), mode) != 0) return fail_errno(fmt::format("chmod '{}'", tmp), errno);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(fmt::format("write '{}'", tmp), errno);
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail_errno(fmt::format("fsync '{}'", tmp), errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail_errno(fmt::format("rename to '{}'", path), errno);
  remove_tmp.release();
  return base::ok();
}

base::Status ensure_directory(const std::string& dir, mode_t mode) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return base::ok();
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(Errc::System, fmt::format("create directory '{}': {}", dir, ec.message()), ec.value());
  if (::chmod(dir.c_str(), mode) != 0) return fail_errno(fmt::format("chmod '{}'", dir), errno);
  return base::ok();
}

FileStamp stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return FileStamp{};
  return FileStamp{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                   static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
                   static_cast<int64_t>(st.st_size)};
}

}  // namespace mesh::identity
