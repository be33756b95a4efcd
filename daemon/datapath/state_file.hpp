#pragma once
// The state file: every enrolled workload, one encoded WorkloadRecord per line after a
// "meshd-workloads 1" header. Rewritten whole and atomically (temp file, fsync, rename) on
// every change, so a crash leaves the old or the new version, never a torn one. The pending
// directory holds enrollment requests made while the daemon was down: <name>.workload files
// with one encoded WorkloadSpec each. Stateless functions; the caller serialises writers.
#include <string>
#include <vector>

#include "daemon/base/result.hpp"
#include "daemon/datapath/workload.hpp"

namespace mesh::datapath {

// A missing file is an empty list; a malformed one is an error naming file:line.
base::Result<std::vector<WorkloadRecord>> load_state(const std::string& path);
base::Status save_state(const std::string& path, const std::vector<WorkloadRecord>& records);

struct PendingEnrollment {
  std::string file;  // to delete once handled
  base::Result<WorkloadSpec> spec;
};
// Every *.workload file in `dir`, sorted by name (a missing dir is an empty list).
std::vector<PendingEnrollment> read_pending(const std::string& dir);
// Writes a pending request atomically (what an offline `meshctl enroll` or a CNI plugin does).
base::Status write_pending(const std::string& dir, const WorkloadSpec& spec);

}  // namespace mesh::datapath
