#include "daemon/config/settings_loader.hpp"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <tuple>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "daemon/config/toml_reader.hpp"

namespace mesh::config {
namespace {

void read_node(TomlReader& root, NodeSettings& node, const std::string& file, Diagnostics& out) {
  const toml::table* t = root.table("node");
  if (t == nullptr) return;
  TomlReader r(*t, file, out);
  r.string("name", node.name);
  r.string("trust_domain", node.trust_domain);
  if (node.trust_domain.empty() || node.trust_domain.find_first_of("/: ") != std::string::npos) {
    r.error_at_key("trust_domain", fmt::format("invalid trust domain '{}'", node.trust_domain));
  }
  r.finish();
}

void read_runtime(TomlReader& root, RuntimeSettings& rt, const std::string& file, Diagnostics& out) {
  const toml::table* t = root.table("runtime");
  if (t == nullptr) return;
  TomlReader r(*t, file, out);
  r.integer("workers", rt.workers, 0, 256);
  r.integer("max_connections", rt.max_connections, 1, 10'000'000);
  r.duration("drain_timeout", rt.drain_timeout);
  std::string level(base::log::level_name(rt.log_level));
  r.string("log_level", level);
  if (auto parsed = base::log::parse_level(level)) rt.log_level = *parsed;
  else r.error_at_key("log_level", fmt::format("unknown log level '{}' (debug, info, warn, error, off)", level));
  r.integer("ring_entries", rt.ring_entries, 64, 32768);
  r.size("buffer_size", rt.buffer_size, 4096, 1 << 20);
  r.integer("buffers_per_worker", rt.buffers_per_worker, 16, 32768);
  if ((rt.buffers_per_worker & (rt.buffers_per_worker - 1)) != 0) {
    r.error_at_key("buffers_per_worker", fmt::format("'buffers_per_worker' must be a power of two (got {})", rt.buffers_per_worker));
  }
  r.integer("max_open_files", rt.max_open_files, 1024, 1 << 30);
  r.string("local_tunnel_worker", rt.local_tunnel_worker);
  if (rt.local_tunnel_worker != "other" && rt.local_tunnel_worker != "same") {
    r.error_at_key("local_tunnel_worker",
                   fmt::format("unknown local_tunnel_worker '{}' (other, same)", rt.local_tunnel_worker));
  }
  r.finish();
}

void read_admin(TomlReader& root, AdminSettings& admin, const std::string& file, Diagnostics& out) {
  const toml::table* t = root.table("admin");
  if (t == nullptr) return;
  TomlReader r(*t, file, out);
  r.string("socket", admin.socket_path);
  if (admin.socket_path.empty() || admin.socket_path.front() != '/') {
    r.error_at_key("socket", "'socket' must be an absolute path");
  }
  r.integer("socket_mode", admin.socket_mode, 0, 0777);
  r.optional_socket_addr("metrics_address", admin.metrics);
  r.optional_socket_addr("readiness_address", admin.readiness);
  r.duration("request_timeout", admin.request_timeout);
  r.integer("max_connections", admin.max_connections, 1, 4096);
  r.finish();
}

void read_capture(TomlReader& root, CaptureSettings& c, const std::string& file, Diagnostics& out) {
  const toml::table* t = root.table("capture");
  if (t == nullptr) return;
  TomlReader r(*t, file, out);
  r.string("mode", c.mode);
  if (c.mode != "auto" && c.mode != "ebpf" && c.mode != "nftables" && c.mode != "off") {
    r.error_at_key("mode", fmt::format("unknown capture mode '{}' (auto, ebpf, nftables, off)", c.mode));
  }
  r.port_list("exclude_outbound_ports", c.exclude_outbound_ports);
  r.port_list("exclude_inbound_ports", c.exclude_inbound_ports);
  r.cidr_list("exclude_outbound_cidrs", c.exclude_outbound_cidrs);
  r.cidr_list("exclude_inbound_cidrs", c.exclude_inbound_cidrs);
  r.string("bpffs", c.bpffs);
  r.string("pin_dir", c.pin_dir);
  r.string("state_file", c.state_file);
  r.string("pending_dir", c.pending_dir);
  r.string("cgroup_root", c.cgroup_root);
  r.integer("mark", c.mark, 1, 0xffffffff);
  r.integer("mark_mask", c.mark_mask, 1, 0xffffffff);
  r.integer("outbound_port", c.outbound_port, 1, 65535);
  r.integer("inbound_port", c.inbound_port, 1, 65535);
  r.integer("tunnel_port", c.tunnel_port, 1, 65535);
  r.string("nft_command", c.nft_command);
  r.duration("gc_interval", c.gc_interval);
  if (c.pin_dir.rfind(c.bpffs, 0) != 0) {
    r.error_at_key("pin_dir", fmt::format("'pin_dir' must be inside bpffs '{}'", c.bpffs));
  }
  if (c.outbound_port == c.inbound_port || c.inbound_port == c.tunnel_port || c.outbound_port == c.tunnel_port) {
    r.error_at(t->source(), "capture ports must differ from each other");
  }
  r.finish();
}

void read_identity(TomlReader& root, IdentitySettings& id, const std::string& file, Diagnostics& out) {
  const toml::table* t = root.table("identity");
  if (t == nullptr) return;
  TomlReader r(*t, file, out);
  r.string("ca_dir", id.ca_dir);
  r.string_list("cert_dirs", id.cert_dirs);
  r.string("cert_root", id.cert_root);
  r.duration("leaf_validity", id.leaf_validity);
  // Short leaves are for tests and demos of rotation; renewal happens at half-life.
  if (id.leaf_validity < std::chrono::seconds(10)) r.error_at_key("leaf_validity", "'leaf_validity' must be at least 10s");
  r.finish();
}

void read_policy(TomlReader& root, PolicySettings& p, const std::string& file, Diagnostics& out) {
  const toml::table* t = root.table("policy");
  if (t == nullptr) return;
  TomlReader r(*t, file, out);
  r.string("dir", p.dir);
  r.string("cluster_domain", p.cluster_domain);
  r.string("root_namespace", p.root_namespace);
  r.duration("reload_delay", p.reload_delay);
  if (p.dir.empty()) r.error_at_key("dir", "'dir' must name a directory");
  r.finish();
}

void read_http(TomlReader& root, HttpSettings& h, const std::string& file, Diagnostics& out) {
  const toml::table* t = root.table("http");
  if (t == nullptr) return;
  TomlReader r(*t, file, out);
  r.duration("detect_timeout", h.detect_timeout);
  r.port_list("server_first_ports", h.server_first_ports);
  r.duration("request_headers_timeout", h.request_headers_timeout);
  if (h.detect_timeout < std::chrono::milliseconds(10)) r.error_at_key("detect_timeout", "'detect_timeout' must be at least 10ms");
  if (h.request_headers_timeout < std::chrono::milliseconds(100)) {
    r.error_at_key("request_headers_timeout", "'request_headers_timeout' must be at least 100ms");
  }
  r.finish();
}

void read_relays(TomlReader& root, std::vector<RelaySettings>& relays, const std::string& file, Diagnostics& out) {
  std::set<std::string> names;
  std::set<base::SocketAddr> listens;
  for (const toml::table* t : root.array_of_tables("relay")) {
    TomlReader r(*t, file, out);
    RelaySettings relay;
    size_t before = out.size();
    r.string("name", relay.name);
    r.socket_addr("listen", relay.listen);
    r.socket_addr("upstream", relay.upstream);
    r.duration("connect_timeout", relay.connect_timeout);
    r.duration("idle_timeout", relay.idle_timeout);
    if (relay.name.empty()) r.error_at(t->source(), "[[relay]] needs a 'name'");
    if (t->get("listen") == nullptr) r.error_at(t->source(), "[[relay]] needs a 'listen' address");
    if (t->get("upstream") == nullptr) r.error_at(t->source(), "[[relay]] needs an 'upstream' address");
    if (!relay.name.empty() && !names.insert(relay.name).second) {
      r.error_at_key("name", fmt::format("duplicate relay name '{}'", relay.name));
    }
    if (t->get("listen") != nullptr && relay.listen.port() != 0 && !listens.insert(relay.listen).second) {
      r.error_at_key("listen", fmt::format("address {} is already used by another relay", relay.listen.to_string()));
    }
    if (relay.upstream.port() == 0 && t->get("upstream") != nullptr) {
      r.error_at_key("upstream", "'upstream' needs a non-zero port");
    }
    r.finish();
    if (out.size() == before) relays.push_back(std::move(relay));
  }
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

}  // namespace

SettingsResult parse_settings(std::string_view text, std::string_view file_name) {
  std::string file(file_name);
  Diagnostics out;
  if (text.size() > kMaxConfigBytes) {
    out.push_back({file, 0, 0, fmt::format("file is larger than {} bytes", kMaxConfigBytes)});
    return tl::unexpected(out);
  }
  toml::table doc;
  try {
    doc = toml::parse(text, file_name);
  } catch (const toml::parse_error& e) {
    out.push_back({file, static_cast<int>(e.source().begin.line), static_cast<int>(e.source().begin.column),
                   std::string(e.description())});
    return tl::unexpected(out);
  }
  Settings s;
  s.source = file;
  s.node.name = host_name();
  TomlReader root(doc, file, out);
  read_node(root, s.node, file, out);
  read_runtime(root, s.runtime, file, out);
  read_admin(root, s.admin, file, out);
  read_capture(root, s.capture, file, out);
  read_identity(root, s.identity, file, out);
  read_policy(root, s.policy, file, out);
  read_http(root, s.http, file, out);
  read_relays(root, s.relays, file, out);
  root.finish();
  if (!out.empty()) {
    std::stable_sort(out.begin(), out.end(), [](const Diagnostic& a, const Diagnostic& b) {
      return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
    return tl::unexpected(out);
  }
  return s;
}

SettingsResult load_settings(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return tl::unexpected(Diagnostics{{path, 0, 0, "cannot open file"}});
  }
  std::string text;
  text.resize(kMaxConfigBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return parse_settings(text, path);
}

}  // namespace mesh::config
