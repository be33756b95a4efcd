#include "daemon/app/process_stats.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace mesh::app {

ProcessStats read_process_stats() {
  ProcessStats st;
  long page = sysconf(_SC_PAGESIZE);
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    unsigned long size = 0, resident = 0;
    if (std::fscanf(f, "%lu %lu", &size, &resident) == 2) {
      st.virtual_bytes = size * static_cast<uint64_t>(page);
      st.resident_bytes = resident * static_cast<uint64_t>(page);
    }
    std::fclose(f);
  }
  rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) == 0) {
    st.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                     static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  }
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++st.open_fds;
    }
    closedir(d);
    if (st.open_fds > 0) --st.open_fds;  // the directory stream itself
  }
  rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) st.max_fds = lim.rlim_cur;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') ++st.threads;
    }
    closedir(d);
  }
  return st;
}

}  // namespace mesh::app
