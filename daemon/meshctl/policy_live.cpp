#include "daemon/meshctl/policy_live.hpp"

#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "daemon/meshctl/admin_client.hpp"

namespace mesh::meshctl {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "meshctl: %s\n", message.c_str());
  throw CLI::RuntimeError(1);
}

std::string error_of(const AdminResponse& r) {
  json j = json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("error")) return j["error"].get<std::string>();
  return fmt::format("HTTP {}: {}", r.status, r.body);
}

}  // namespace

LiveExplain live_explain(GlobalOptions& global) {
  return [&global](const policy::ExplainQuery& q, const std::string& output) {
    json headers = json::object();
    for (const auto& [k, v] : q.headers) headers[k] = v;
    json body = {{"from", q.from}, {"to", q.to}, {"method", q.method}, {"path", q.path},
                 {"gateway", q.gateway}, {"headers", headers}};
    AdminClient client(admin_socket_path(global.socket));
    auto resp = client.request("POST", output == "json" ? "/v1/policy/explain" : "/v1/policy/explain?output=text",
                               body.dump());
    if (!resp) fail(resp.error().message());
    if (resp->status != 200) fail(error_of(*resp));
    std::fputs(resp->body.c_str(), stdout);
    if (!resp->body.empty() && resp->body.back() != '\n') std::fputc('\n', stdout);
  };
}

void add_policy_show(CLI::App& policy_cmd, GlobalOptions& global) {
  auto* show = policy_cmd.add_subcommand("show", "the policy set the daemon is running");
  show->callback([&global] {
    AdminClient client(admin_socket_path(global.socket));
    auto resp = client.get("/v1/policy");
    if (!resp) fail(resp.error().message());
    if (resp->status != 200) fail(error_of(*resp));
    if (global.output == "json") {
      std::fputs(resp->body.c_str(), stdout);
      return;
    }
    json p = json::parse(resp->body);
    std::printf("policy directory  %s\n", p.value("dir", "").c_str());
    if (!p.contains("version")) {
      std::printf("no policy loaded\n");
      return;
    }
    std::printf("version           %s\n", p["version"].get<std::string>().c_str());
    const json& c = p["counts"];
    std::printf("resources         %d workload(s), %d service(s), %d route(s), %d authorization(s)\n",
                c.value("workloads", 0), c.value("services", 0), c.value("routes", 0), c.value("authorizations", 0));
    std::printf("files\n");
    for (const auto& f : p["files"]) std::printf("  %s\n", f.get<std::string>().c_str());
    const json& rel = p["last_reload"];
    std::printf("last reload       %s\n", rel.value("result", "none").c_str());
    if (rel.contains("errors")) {
      std::printf("errors (the set above is still running):\n");
      for (const auto& e : rel["errors"]) std::printf("  %s\n", e.get<std::string>().c_str());
    }
  });
}

}  // namespace mesh::meshctl
