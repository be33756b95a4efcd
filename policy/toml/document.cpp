// The root of a policy document: which top-level tables exist and how many resources each
// may hold. One file's resources are appended to the set being built.
#include <array>

#include <fmt/format.h>

#include "policy/toml/decode.hpp"

namespace mesh::policy::toml_codec {
namespace {

template <class T>
void decode_kind(TableReader& root, std::string_view key, std::vector<T>& out, T (*one)(TableReader&)) {
  const Limits& limits = root.ctx().limits;
  const toml::array* a = root.table_array(key, limits.max_resources, "max_resources");
  if (!a) return;
  if (out.size() + a->size() > limits.max_resources) {
    root.error_at(*a, key, fmt::format("the set has more than max_resources = {} [[{}]] entries", limits.max_resources, key));
    return;
  }
  for (const toml::node& n : *a) {
    if (root.ctx().diags.full()) return;
    TableReader r(root.ctx(), *n.as_table(), std::string(key));
    out.push_back(one(r));
  }
}

}  // namespace

void decode_document(const toml::table& table, DecodeContext& ctx, model::PolicySet& out) {
  TableReader root(ctx, table, "");
  decode_kind(root, "workload", out.workloads, decode_workload);
  decode_kind(root, "service", out.services, decode_service);
  decode_kind(root, "external", out.externals, decode_external);
  decode_kind(root, "route", out.routes, decode_route);
  decode_kind(root, "destination", out.destinations, decode_destination);
  decode_kind(root, "authorization", out.authorizations, decode_authorization);
  decode_kind(root, "peer_authentication", out.peer_authentications, decode_peer_authentication);
  decode_kind(root, "gateway", out.gateways, decode_gateway);
  if (const toml::table* t = root.table("telemetry")) {
    TableReader r(ctx, *t, "telemetry");
    model::Telemetry telemetry = decode_telemetry(r);
    if (out.telemetry) {
      const SourceLoc& first = out.telemetry->loc;
      ctx.diags.error(telemetry.loc, fmt::format("[telemetry] is already defined at {}:{}:{}; define it once per set",
                                                 first.file < out.files.size() ? out.files[first.file] : "?",
                                                 first.line, first.column));
    } else {
      out.telemetry = std::move(telemetry);
    }
  }
  root.finish();
}

}  // namespace mesh::policy::toml_codec
