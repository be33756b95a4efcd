#include "daemon/meshctl/workload_commands.hpp"

#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/config/settings_loader.hpp"
#include "daemon/datapath/state_file.hpp"
#include "daemon/meshctl/admin_client.hpp"
#include "daemon/meshctl/table.hpp"

namespace mesh::meshctl {
namespace {

using nlohmann::json;

struct EnrollArgs {
  std::string name, k8s_namespace = "default", service_account = "default", netns, cgroup, config;
  std::vector<std::string> ips;
};

[[noreturn]] void fail(const std::string& message, int code = 1) {
  std::fprintf(stderr, "meshctl: %s\n", message.c_str());
  throw CLI::RuntimeError(code);
}

std::string error_of(const AdminResponse& r) {
  json j = json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("error")) return j["error"].get<std::string>();
  return fmt::format("HTTP {}: {}", r.status, r.body);
}

// meshd is down: queue the request where meshd will pick it up at start.
void enroll_offline(const EnrollArgs& a, const base::Error& why) {
  auto settings = config::load_settings(a.config);
  std::string dir = settings ? settings->capture.pending_dir : config::CaptureSettings{}.pending_dir;
  datapath::WorkloadSpec spec{a.name, a.k8s_namespace, a.service_account, a.netns, a.cgroup, {}};
  for (const auto& ip : a.ips) {
    auto addr = base::IpAddr::parse(ip);
    if (!addr) fail(addr.error().message(), 2);
    spec.ips.push_back(*addr);
  }
  if (auto st = datapath::validate(spec); !st) fail(st.error().message(), 2);
  if (auto st = datapath::write_pending(dir, spec); !st) {
    fail(fmt::format("{}; and the enrollment could not be queued: {}", why.message(), st.error().message()));
  }
  std::printf("meshd is not running: enrollment of '%s' queued in %s, applied when meshd starts\n", a.name.c_str(),
              dir.c_str());
}

void enroll(const GlobalOptions& g, const EnrollArgs& a) {
  json body = {{"name", a.name}, {"namespace", a.k8s_namespace}, {"service_account", a.service_account},
               {"ips", a.ips}};
  if (!a.netns.empty()) body["netns"] = a.netns;
  if (!a.cgroup.empty()) body["cgroup"] = a.cgroup;
  AdminClient client(admin_socket_path(g.socket));
  auto resp = client.request("POST", "/v1/workloads", body.dump());
  if (!resp) {
    if (resp.error().code() == base::Errc::NotFound || resp.error().code() == base::Errc::Closed) {
      return enroll_offline(a, resp.error());
    }
    fail(resp.error().message());
  }
  if (resp->status != 201) fail(fmt::format("cannot enroll '{}': {}", a.name, error_of(*resp)), resp->status < 500 ? 2 : 1);
  if (g.output == "json") {
    std::printf("%s", resp->body.c_str());
    return;
  }
  json w = json::parse(resp->body, nullptr, false);
  std::printf("workload %s/%s enrolled (%s capture)\n", a.k8s_namespace.c_str(), a.name.c_str(),
              w.is_object() ? w.value("mode", "?").c_str() : "?");
}

void list(const GlobalOptions& g) {
  AdminClient client(admin_socket_path(g.socket));
  auto resp = client.get("/v1/workloads");
  if (!resp) fail(resp.error().message());
  if (resp->status != 200) fail(error_of(*resp));
  if (g.output == "json") {
    std::printf("%s", resp->body.c_str());
    return;
  }
  Table t({"NAME", "NAMESPACE", "SERVICE-ACCOUNT", "IPS", "CAPTURE", "STATUS", "ACTIVE", "OPENED", "NETNS/CGROUP"});
  for (const auto& w : json::parse(resp->body)) {
    std::string ips;
    for (const auto& ip : w["ips"]) ips += (ips.empty() ? "" : ",") + ip.get<std::string>();
    t.add({w.value("name", ""), w.value("namespace", ""), w.value("service_account", ""), ips, w.value("mode", ""),
           w.value("status", ""), std::to_string(w["connections"].value("active", 0)),
           std::to_string(w["connections"].value("opened", 0)), w.contains("netns") ? w.value("netns", "") : w.value("cgroup", "")});
  }
  std::printf("%s", t.render().c_str());
}

}  // namespace

void add_workload_commands(CLI::App& root, GlobalOptions& global) {
  auto args = std::make_shared<EnrollArgs>();
  args->config = config::kDefaultConfigPath;
  auto* e = root.add_subcommand("enroll", "capture a workload's traffic (a pod's netns, or a service's cgroup)");
  e->add_option("--name", args->name, "workload name, unique on this node")->required();
  e->add_option("--namespace", args->k8s_namespace, "its namespace (identity and policy)");
  e->add_option("--service-account", args->service_account, "its service account (identity)");
  auto* netns = e->add_option("--netns", args->netns, "network namespace file, e.g. /run/netns/NAME or /proc/PID/ns/net");
  auto* cgroup = e->add_option("--cgroup", args->cgroup, "bare metal: the service's cgroup (host netns)");
  netns->excludes(cgroup);
  e->add_option("--ip", args->ips, "the workload's address (repeat for IPv4 and IPv6)");
  e->add_option("--config", args->config, "meshd.toml, for the pending directory when meshd is down");
  e->callback([&global, args] {
    if (args->netns.empty() && args->cgroup.empty()) fail("one of --netns or --cgroup is required", 2);
    enroll(global, *args);
  });

  auto name = std::make_shared<std::string>();
  auto* u = root.add_subcommand("unenroll", "stop capturing a workload and close its connections");
  u->add_option("name", *name, "workload name")->required();
  u->callback([&global, name] {
    AdminClient client(admin_socket_path(global.socket));
    auto resp = client.request("DELETE", "/v1/workloads?name=" + *name);
    if (!resp) fail(resp.error().message());
    if (resp->status != 200) fail(fmt::format("cannot unenroll '{}': {}", *name, error_of(*resp)), 2);
    std::printf("workload %s unenrolled\n", name->c_str());
  });

  auto* w = root.add_subcommand("workloads", "list enrolled workloads with their capture mode and status");
  w->callback([&global] { list(global); });

  auto* capture = root.add_subcommand("capture", "operate transparent capture");
  capture->require_subcommand(1);
  auto* upgrade = capture->add_subcommand("upgrade", "load the capture programs again and swap them into the pinned "
                                                     "links atomically (eBPF); connections are kept");
  upgrade->callback([&global] {
    AdminClient client(admin_socket_path(global.socket));
    auto resp = client.request("POST", "/v1/capture/upgrade");
    if (!resp) fail(resp.error().message());
    if (resp->status != 200) {
      fail(fmt::format("cannot upgrade the capture programs: {}", error_of(*resp)), resp->status < 500 ? 2 : 1);
    }
    if (global.output == "json") {
      std::printf("%s", resp->body.c_str());
      return;
    }
    std::printf("capture programs upgraded in place (same links, new programs; connections kept)\n");
  });
}

}  // namespace mesh::meshctl
