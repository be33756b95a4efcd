#pragma once
// The start-up check that io_uring is usable and new enough for meshd. Refuses with a
// message that says what is missing and what to do, instead of failing later on the data path.
#include <string>
#include <vector>

#include "daemon/base/result.hpp"

namespace mesh::io {

struct ProbeReport {
  std::string kernel;               // uname release
  std::vector<std::string> notes;   // optional features that are missing (degraded, not fatal)
};

// Fails with Errc::Unsupported when io_uring is disabled, blocked (seccomp, container policy)
// or lacks an operation or feature the daemon needs (kernel 6.0 or newer is required).
base::Result<ProbeReport> probe_io_uring();

}  // namespace mesh::io
