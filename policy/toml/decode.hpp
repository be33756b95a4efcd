#pragma once
// The decoders: one function per resource kind, each reading one TOML table into a model
// struct through a TableReader. Internal to the codec; codec.hpp is the public entry point.
// Field syntax is checked here (names, hosts, principals, CIDRs, regex syntax is left to
// compile); references between resources are checked by compile.
#include <string>
#include <string_view>

#include "policy/model.hpp"
#include "policy/toml/reader.hpp"

namespace mesh::policy::toml_codec {

// Reads name (required) and namespace into meta; checks their DNS syntax.
void decode_meta(TableReader& r, model::Meta& meta);
// Lowercases and checks a DNS host name, optionally with a leading "*." wildcard (or "*").
bool check_host(TableReader& r, std::string_view key, model::Located<std::string>& host, bool allow_wildcard);
bool decode_protocol(TableReader& r, std::string_view key, model::Protocol& out);
bool decode_ports(TableReader& r, std::string_view key, std::vector<model::ServicePort>& out);
bool decode_cidrs(TableReader& r, std::string_view key, std::vector<base::Cidr>& out);
bool decode_string_match(TableReader& parent, std::string_view key, const toml::node& n,
                         model::StringMatch& out, bool allow_prefix);

model::Workload decode_workload(TableReader& r);
model::Service decode_service(TableReader& r);
model::External decode_external(TableReader& r);
model::Gateway decode_gateway(TableReader& r);
model::Telemetry decode_telemetry(TableReader& r);
model::Route decode_route(TableReader& r);
model::DestinationRule decode_destination(TableReader& r);
model::Authorization decode_authorization(TableReader& r);
model::PeerAuthentication decode_peer_authentication(TableReader& r);

// Decodes one parsed document into `out` (appending). Reports errors into ctx.diags.
void decode_document(const toml::table& root, DecodeContext& ctx, model::PolicySet& out);

}  // namespace mesh::policy::toml_codec
