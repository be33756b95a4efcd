#pragma once
// Small file helpers for certificate material: bounded reads, atomic writes with an explicit
// mode (keys 0600), and a cheap "did this file change" stamp for reload decisions. Blocking
// file I/O; called from the control thread or meshctl, never from a worker's data path.
#include <sys/types.h>

#include <compare>
#include <cstdint>
#include <string>

#include "daemon/base/result.hpp"

namespace mesh::identity {

// Certificate files are small; anything bigger is a mistake (or an attack on the parser).
inline constexpr size_t kMaxPemFileSize = 1 << 20;

base::Result<std::string> read_file(const std::string& path);
// Writes `content` to a temporary file in the same directory, fsyncs it, sets `mode`, and
// renames it over `path`, so readers see the old or the new file, never a partial one.
base::Status write_file_atomic(const std::string& path, std::string_view content, mode_t mode);
// Creates `dir` (and parents) with `mode` if it does not exist.
base::Status ensure_directory(const std::string& dir, mode_t mode);

// Identity of a file's current content, as far as stat(2) can tell.
struct FileStamp {
  uint64_t device = 0;
  uint64_t inode = 0;
  int64_t mtime_ns = 0;
  int64_t size = -1;  // -1: missing
  auto operator<=>(const FileStamp&) const = default;
};
FileStamp stamp_of(const std::string& path);

}  // namespace mesh::identity
