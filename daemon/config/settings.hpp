#pragma once
// Settings: the daemon's own configuration (meshd.toml) as plain values. Mesh resources
// (workloads, services, policy) live in policy.d and are not part of this struct.
// Defaults here are the documented defaults (docs/config-daemon.md).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/base/clock.hpp"
#include "daemon/base/log.hpp"
#include "daemon/base/socket_addr.hpp"

namespace mesh::config {

using namespace std::chrono_literals;

struct NodeSettings {
  std::string name;                          // default: the host name
  std::string trust_domain = "cluster.local";
};

struct RuntimeSettings {
  unsigned workers = 0;                      // 0: one per online CPU
  uint64_t max_connections = 100000;         // relayed connections, whole daemon
  base::Duration drain_timeout = 5s;         // SIGTERM: how long connections may finish
  base::log::Level log_level = base::log::Level::Info;
  unsigned ring_entries = 1024;              // io_uring submission queue per worker
  uint32_t buffer_size = 32 * 1024;          // provided receive buffer, bytes
  uint32_t buffers_per_worker = 32;          // power of two; few, so they stay in cache
  uint64_t max_open_files = 1048576;         // RLIMIT_NOFILE to ask for at start-up
  std::string local_tunnel_worker = "same";  // same | other: where a node-local tunnel's far end runs
};

struct AdminSettings {
  std::string socket_path = "/run/meshd/admin.sock";
  unsigned socket_mode = 0660;
  std::optional<base::SocketAddr> metrics = base::SocketAddr(base::IpAddr(), 15020);
  std::optional<base::SocketAddr> readiness = base::SocketAddr(base::IpAddr(), 15021);
  base::Duration request_timeout = 10s;      // a client that sends nothing is closed after this
  unsigned max_connections = 64;
};

// A plain L4 relay: everything accepted on `listen` is copied to and from `upstream`.
struct RelaySettings {
  std::string name;
  base::SocketAddr listen;
  base::SocketAddr upstream;
  base::Duration connect_timeout = 10s;
  base::Duration idle_timeout = 1h;
};

// Transparent capture of enrolled workloads (docs/capture.md). mode "off" runs meshd as a
// plain relay with no kernel capture at all.
struct CaptureSettings {
  std::string mode = "auto";                 // auto | ebpf | nftables | off
  std::vector<uint16_t> exclude_outbound_ports;
  std::vector<uint16_t> exclude_inbound_ports;
  std::vector<base::Cidr> exclude_outbound_cidrs;
  std::vector<base::Cidr> exclude_inbound_cidrs;
  std::string bpffs = "/sys/fs/bpf";
  std::string pin_dir = "/sys/fs/bpf/meshd/v1";
  std::string state_file = "/var/lib/meshd/workloads.state";
  std::string pending_dir = "/var/lib/meshd/enroll.d";
  std::string cgroup_root;                   // "": the cgroup2 mount root
  uint32_t mark = 0x539;
  uint32_t mark_mask = 0xfff;
  uint16_t outbound_port = 15001;
  uint16_t inbound_port = 15006;
  uint16_t tunnel_port = 15008;
  std::string nft_command = "nft";
  base::Duration gc_interval = 1s;           // how often vanished netns/cgroups are noticed
};

// Where workload certificates come from (docs/identity.md). A workload without a
// certificate cannot use mTLS: its tunnelled connections are refused and counted.
struct IdentitySettings {
  std::string ca_dir;                        // built-in CA: issue a leaf per local identity
  std::vector<std::string> cert_dirs;        // PEM directories (cert-chain.pem, key.pem, root-cert.pem)
  std::string cert_root;                     // every subdirectory holding a cert-chain.pem
  base::Duration leaf_validity = 24h;
};

// Mesh resources (docs/config.md): every *.toml in `dir`, reloaded on change and on SIGHUP.
struct PolicySettings {
  std::string dir = "/etc/meshd/policy.d";
  std::string cluster_domain = "cluster.local";  // <service>.<ns>.svc.<cluster_domain>
  std::string root_namespace = "istio-system";   // policies here without a selector are mesh-wide
  base::Duration reload_delay = 200ms;           // changes within this window reload once
};

// The HTTP data path (docs/http.md): protocol detection on ports that do not declare theirs.
struct HttpSettings {
  base::Duration detect_timeout = 5s;           // a silent client's connection becomes bytes after this
  // Undeclared ports where the server speaks first: never sniffed (Linkerd's list).
  std::vector<uint16_t> server_first_ports = {25, 587, 3306, 4444, 5432, 6379, 9300, 11211};
  base::Duration request_headers_timeout = 15s;  // a request head must be complete this long after its first byte
};

struct Settings {
  std::string source;                        // the file it was read from ("" for defaults)
  NodeSettings node;
  RuntimeSettings runtime;
  AdminSettings admin;
  CaptureSettings capture;
  IdentitySettings identity;
  PolicySettings policy;
  HttpSettings http;
  std::vector<RelaySettings> relays;
};

}  // namespace mesh::config
