#include "daemon/datapath/workload.hpp"

#include <charconv>

#include <fmt/format.h>

namespace mesh::datapath {
namespace {

bool valid_name(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool has_space(std::string_view s) {
  for (char c : s)
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return true;
  return false;
}

template <class T>
base::Result<T> parse_uint(std::string_view key, std::string_view v) {
  T out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size())
    return base::fail(base::Errc::Invalid, fmt::format("invalid number for '{}': '{}'", key, v));
  return out;
}

// Applies one key=value to a spec; false if the key is not a spec key.
base::Result<bool> apply_spec_field(WorkloadSpec& s, std::string_view key, std::string_view v) {
  if (key == "name") s.name = v;
  else if (key == "namespace") s.k8s_namespace = v;
  else if (key == "sa") s.service_account = v;
  else if (key == "netns") s.netns_path = v;
  else if (key == "cgroup") s.cgroup_path = v;
  else if (key == "ip") {
    auto ip = base::IpAddr::parse(v);
    if (!ip) return base::fail(std::move(ip.error()));
    s.ips.push_back(*ip);
  } else {
    return false;
  }
  return true;
}

template <class F>
base::Status for_each_field(std::string_view line, F&& fn) {
  size_t pos = 0;
  while (pos <= line.size()) {
    size_t end = line.find('\t', pos);
    if (end == std::string_view::npos) end = line.size();
    std::string_view field = line.substr(pos, end - pos);
    pos = end + 1;
    if (field.empty()) continue;
    size_t eq = field.find('=');
    if (eq == std::string_view::npos)
      return base::fail(base::Errc::Invalid, fmt::format("expected key=value, got '{}'", field));
    if (auto st = fn(field.substr(0, eq), field.substr(eq + 1)); !st) return st;
  }
  return base::ok();
}

}  // namespace

const base::IpAddr* WorkloadSpec::ip4() const {
  for (const auto& ip : ips)
    if (ip.is_v4()) return &ip;
  return nullptr;
}

const base::IpAddr* WorkloadSpec::ip6() const {
  for (const auto& ip : ips)
    if (ip.is_v6()) return &ip;
  return nullptr;
}

base::Status validate(const WorkloadSpec& s) {
  auto bad = [](std::string msg) { return base::fail(base::Errc::Invalid, std::move(msg)); };
  if (!valid_name(s.name)) return bad(fmt::format("workload name '{}' must be 1-63 of [A-Za-z0-9._-]", s.name));
  if (!valid_name(s.k8s_namespace)) return bad(fmt::format("namespace '{}' must be 1-63 of [A-Za-z0-9._-]", s.k8s_namespace));
  if (!valid_name(s.service_account)) return bad(fmt::format("service account '{}' must be 1-63 of [A-Za-z0-9._-]", s.service_account));
  if (s.netns_path.empty() == s.cgroup_path.empty()) return bad("give exactly one of a netns path or a cgroup path");
  if (has_space(s.netns_path) || has_space(s.cgroup_path)) return bad("netns and cgroup paths must not contain whitespace");
  if (s.ips.empty()) return bad("a workload needs at least one IP address");
  int v4 = 0;
  int v6 = 0;
  for (const auto& ip : s.ips) {
    if (ip.is_unspecified() || ip.is_loopback()) return bad(fmt::format("'{}' cannot be a workload address", ip.to_string()));
    (ip.is_v4() ? v4 : v6)++;
  }
  if (v4 > 1 || v6 > 1) return bad("at most one IPv4 and one IPv6 address per workload");
  if (s.bare_metal() && v6 > 0) return bad("bare-metal (cgroup) workloads are IPv4 only");
  return base::ok();
}

std::string encode(const WorkloadSpec& s) {
  std::string out = fmt::format("name={}\tnamespace={}\tsa={}", s.name, s.k8s_namespace, s.service_account);
  if (!s.netns_path.empty()) out += "\tnetns=" + s.netns_path;
  if (!s.cgroup_path.empty()) out += "\tcgroup=" + s.cgroup_path;
  for (const auto& ip : s.ips) out += "\tip=" + ip.to_string();
  return out;
}

std::string encode(const WorkloadRecord& r) {
  return fmt::format("{}\tmode={}\tino={}\tcookie={}\tcgroup_id={}\tport={}", encode(r.spec),
                     to_string(r.mode), r.netns_ino, r.netns_cookie, r.cgroup_id, r.outbound_port);
}

base::Result<WorkloadSpec> decode_spec(std::string_view line) {
  WorkloadSpec s;
  auto st = for_each_field(line, [&](std::string_view k, std::string_view v) -> base::Status {
    auto known = apply_spec_field(s, k, v);
    if (!known) return base::fail(std::move(known.error()));
    if (!*known) return base::fail(base::Errc::Invalid, fmt::format("unknown key '{}'", k));
    return base::ok();
  });
  if (!st) return base::fail(std::move(st.error()));
  if (auto v = validate(s); !v) return base::fail(std::move(v.error()));
  return s;
}

base::Result<WorkloadRecord> decode_record(std::string_view line) {
  WorkloadRecord r;
  auto st = for_each_field(line, [&](std::string_view k, std::string_view v) -> base::Status {
    auto known = apply_spec_field(r.spec, k, v);
    if (!known) return base::fail(std::move(known.error()));
    if (*known) return base::ok();
    if (k == "mode") {
      auto m = parse_capture_mode(v);
      if (!m) return base::fail(std::move(m.error()));
      r.mode = *m;
      return base::ok();
    }
    base::Result<uint64_t> n = parse_uint<uint64_t>(k, v);
    if (!n) return base::fail(std::move(n.error()));
    if (k == "ino") r.netns_ino = *n;
    else if (k == "cookie") r.netns_cookie = *n;
    else if (k == "cgroup_id") r.cgroup_id = *n;
    else if (k == "port" && *n <= 65535) r.outbound_port = static_cast<uint16_t>(*n);
    else return base::fail(base::Errc::Invalid, fmt::format("unknown key '{}' or bad value", k));
    return base::ok();
  });
  if (!st) return base::fail(std::move(st.error()));
  if (auto v = validate(r.spec); !v) return base::fail(std::move(v.error()));
  return r;
}

}  // namespace mesh::datapath
