#pragma once
// The per-request decisions of the server side (inbound), as pure functions of the policy
// snapshot, the connection's attributes and the request head — the same engine calls
// `meshctl policy explain` makes: authorization of one request, the request's peers and
// service as telemetry names them, and a new x-request-id. Table-tested without sockets.
#include <string>
#include <string_view>

#include "daemon/base/random.hpp"
#include "daemon/proxy/worker_context.hpp"
#include "daemon/telemetry/request_record.hpp"
#include "policy/engine.hpp"
#include "tunnel/http/message.hpp"

namespace mesh::proxy {

// `head.path` is the normalized path (tunnel/http/path_normalize.hpp). Without a policy
// snapshot everything is allowed (a node that has not loaded one enforces nothing yet).
policy::AuthzDecision authorize_inbound_request(const policy::CompiledPolicy* policy, const FlowAttrs& attrs,
                                                const tunnel::http::RequestHead& head);

// Whether `d` refuses the request (a dry-run policy never does).
inline bool refuses(const policy::AuthzDecision& d) { return d.verdict == policy::Verdict::Deny; }

// The source, destination and destination_service of a request on an inbound connection:
// the peer's principal from mTLS, workloads by address, the service the authority names
// (else the first service selecting the destination workload).
void describe_inbound(const policy::CompiledPolicy* policy, const FlowAttrs& attrs, std::string_view authority,
                      telemetry::RequestRecord& record);

// The same for a request on an outbound connection from `source`: the local workload as
// the source, the picked endpoint's workload as the destination, the routed service.
void describe_outbound(const policy::CompiledPolicy& policy, const policy::Workload* source,
                       std::string_view source_identity, const policy::Service* service,
                       const base::SocketAddr* endpoint, telemetry::RequestRecord& record);

// A random (version 4) UUID, as Envoy generates x-request-id.
std::string new_request_id(base::RandomSource& random);

}  // namespace mesh::proxy
