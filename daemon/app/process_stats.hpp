#pragma once
// This process's resource use, read from /proc/self for the standard process_* metrics.
#include <cstdint>

namespace mesh::app {

struct ProcessStats {
  uint64_t resident_bytes = 0;
  uint64_t virtual_bytes = 0;
  double cpu_seconds = 0;
  uint64_t open_fds = 0;
  uint64_t max_fds = 0;
  uint64_t threads = 0;
};

ProcessStats read_process_stats();

}  // namespace mesh::app
