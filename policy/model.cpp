#include "policy/model.hpp"

namespace mesh::policy::model {

std::string_view to_string(Protocol p) {
  switch (p) {
    case Protocol::Unspecified: return "detect";
    case Protocol::Tcp: return "tcp";
    case Protocol::Http: return "http";
    case Protocol::Http2: return "http2";
    case Protocol::Grpc: return "grpc";
    case Protocol::Tls: return "tls";
    case Protocol::Https: return "https";
  }
  return "?";
}

std::string_view to_string(AuthzAction a) {
  switch (a) {
    case AuthzAction::Allow: return "ALLOW";
    case AuthzAction::Deny: return "DENY";
    case AuthzAction::Audit: return "AUDIT";
  }
  return "?";
}

std::string_view to_string(MtlsMode m) {
  switch (m) {
    case MtlsMode::Unset: return "unset";
    case MtlsMode::Disable: return "disable";
    case MtlsMode::Permissive: return "permissive";
    case MtlsMode::Strict: return "strict";
  }
  return "?";
}

}  // namespace mesh::policy::model
