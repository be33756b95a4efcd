#pragma once
// WorkloadSpec (what enrollment is asked for) and WorkloadRecord (what was installed, as kept
// in the state file), with validation and the one-line text form used by the state file and
// the pending-enrollment files:
//   name=web-1<TAB>namespace=default<TAB>sa=web<TAB>netns=/run/netns/web-1<TAB>ip=198.18.1.2 ...
// Values may not contain whitespace; unknown keys are errors. Plain values; any thread.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/base/result.hpp"
#include "daemon/base/socket_addr.hpp"
#include "daemon/datapath/capture_options.hpp"

namespace mesh::datapath {

struct WorkloadSpec {
  std::string name;             // unique on the node: [A-Za-z0-9._-]{1,63}
  std::string k8s_namespace;    // same character set
  std::string service_account;  // same character set
  std::string netns_path;       // a pod: its network namespace file
  std::string cgroup_path;      // bare metal: a cgroup under the capture root (host netns)
  std::vector<base::IpAddr> ips;  // at most one IPv4 and one IPv6; bare metal: IPv4 only

  bool bare_metal() const { return !cgroup_path.empty(); }
  const base::IpAddr* ip4() const;
  const base::IpAddr* ip6() const;
};

// Invalid with a sentence naming the field when the spec cannot be enrolled as written.
base::Status validate(const WorkloadSpec& spec);

struct WorkloadRecord {
  WorkloadSpec spec;
  CaptureMode mode = CaptureMode::Ebpf;  // the mode it was installed with
  uint64_t netns_ino = 0;     // pods: identity of the netns at enrollment
  uint64_t netns_cookie = 0;  // pods: the netns cookie; bare metal: the daemon's netns cookie
  uint64_t cgroup_id = 0;     // bare metal
  uint16_t outbound_port = 0;
};

std::string encode(const WorkloadSpec& spec);
std::string encode(const WorkloadRecord& record);
base::Result<WorkloadSpec> decode_spec(std::string_view line);
base::Result<WorkloadRecord> decode_record(std::string_view line);

}  // namespace mesh::datapath
