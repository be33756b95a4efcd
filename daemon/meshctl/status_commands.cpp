#include "daemon/meshctl/status_commands.hpp"

#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/base/version.hpp"
#include "daemon/meshctl/admin_client.hpp"
#include "daemon/meshctl/table.hpp"

namespace mesh::meshctl {
namespace {

using nlohmann::json;

std::string uptime(int64_t seconds) {
  std::string out;
  if (seconds >= 86400) out += fmt::format("{}d", seconds / 86400);
  if (seconds >= 3600) out += fmt::format("{}h", seconds % 86400 / 3600);
  if (seconds >= 60) out += fmt::format("{}m", seconds % 3600 / 60);
  return out + fmt::format("{}s", seconds % 60);
}

std::string str(const json& j, const char* key, const char* absent = "-") {
  if (!j.contains(key) || j[key].is_null()) return absent;
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

// Fetches `target`, prints an error and throws CLI::RuntimeError on failure.
json fetch(const GlobalOptions& g, const std::string& target) {
  AdminClient client(admin_socket_path(g.socket));
  auto resp = client.get(target);
  if (!resp) {
    std::fprintf(stderr, "meshctl: %s\n", resp.error().message().c_str());
    throw CLI::RuntimeError(1);
  }
  json j = json::parse(resp->body, nullptr, false);
  if (resp->status != 200 || j.is_discarded()) {
    std::fprintf(stderr, "meshctl: %s answered %d: %s\n", client.path().c_str(), resp->status, resp->body.c_str());
    throw CLI::RuntimeError(1);
  }
  return j;
}

}  // namespace

std::string render_status(const std::string& status_json) {
  json j = json::parse(status_json);
  std::string out = fmt::format("meshd {} ({}) on node {}: {}, up {}, pid {}\n", str(j, "version"), str(j, "revision"),
                                str(j, "node"), str(j, "state"), uptime(j.value("uptime_seconds", int64_t{0})),
                                str(j, "pid"));
  const json& cfg = j["config"];
  const json& rel = cfg["last_reload"];
  std::string reload = str(rel, "result");
  if (rel.contains("time")) reload += " at " + str(rel, "time");
  Table summary({"", ""});
  summary.add({"workers", str(j, "workers")});
  summary.add({"config", str(cfg, "source") + " (last reload: " + reload + ")"});
  const json& a = j["admin"];
  summary.add({"admin", fmt::format("{}   metrics {}   readiness {}", str(a, "socket"), str(a, "metrics", "off"),
                                    str(a, "readiness", "off"))});
  const json& c = j["connections"];
  summary.add({"connections", fmt::format("active {} / limit {}   opened {}   closed {}   rejected {}", str(c, "active"),
                                          str(c, "limit"), str(c, "opened"), str(c, "closed"), str(c, "rejected"))});
  std::string s = summary.render();
  out += s.substr(s.find('\n') + 1);  // drop the empty header row
  if (rel.contains("errors")) {
    out += "config errors (the previous configuration is still running):\n";
    for (const auto& e : rel["errors"]) out += "  " + e.get<std::string>() + "\n";
  }
  if (rel.contains("restart_needed")) {
    out += "changed settings that need a restart:";
    for (const auto& e : rel["restart_needed"]) out += " " + e.get<std::string>();
    out += "\n";
  }
  Table listeners({"LISTENER", "KIND", "LISTEN", "UPSTREAM", "ACTIVE", "OPENED"});
  for (const auto& l : j["listeners"]) {
    listeners.add({str(l, "name"), str(l, "kind"), str(l, "listen"), str(l, "upstream"), str(l, "active"), str(l, "opened")});
  }
  out += "\n" + listeners.render();
  return out;
}

void add_status_commands(CLI::App& root, GlobalOptions& global) {
  auto* status = root.add_subcommand("status", "show what the daemon is doing");
  status->callback([&global] {
    json j = fetch(global, "/v1/status");
    std::fputs(global.output == "json" ? (j.dump(2) + "\n").c_str() : render_status(j.dump()).c_str(), stdout);
  });
  auto* version = root.add_subcommand("version", "show meshctl's version and, if reachable, the daemon's");
  version->callback([&global] {
    json out = {{"client", {{"version", base::kVersion}, {"revision", base::kRevision}}}};
    AdminClient client(admin_socket_path(global.socket));
    auto resp = client.get("/v1/version");
    json daemon = resp && resp->status == 200 ? json::parse(resp->body, nullptr, false) : json();
    if (!daemon.is_discarded() && !daemon.is_null()) out["daemon"] = daemon;
    if (global.output == "json") {
      std::printf("%s\n", out.dump(2).c_str());
      return;
    }
    std::printf("meshctl %s (%s)\n", base::kVersion, base::kRevision);
    if (out.contains("daemon")) std::printf("meshd   %s (%s)\n", str(daemon, "version").c_str(), str(daemon, "revision").c_str());
    else std::printf("meshd   not reachable: %s\n", resp ? fmt::format("HTTP {}", resp->status).c_str() : resp.error().message().c_str());
  });
}

}  // namespace mesh::meshctl
