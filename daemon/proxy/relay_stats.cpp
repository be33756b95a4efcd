#include "daemon/proxy/relay_stats.hpp"

namespace mesh::proxy {

std::string_view to_string(RejectReason r) {
  switch (r) {
    case RejectReason::ConnectionLimit: return "connection_limit";
    case RejectReason::Draining: return "draining";
    case RejectReason::UpstreamRefused: return "upstream_refused";
    case RejectReason::UpstreamUnreachable: return "upstream_unreachable";
    case RejectReason::UpstreamTimeout: return "upstream_timeout";
    case RejectReason::UpstreamError: return "upstream_error";
    case RejectReason::NoDestination: return "no_destination";
    case RejectReason::SelfCall: return "self_call";
    case RejectReason::TunnelFailed: return "tunnel_failed";
    case RejectReason::Denied: return "denied";
    case RejectReason::PeerUnavailable: return "peer_unavailable";
    case RejectReason::NoCertificate: return "no_certificate";
    case RejectReason::Plaintext: return "plaintext_refused";
    case RejectReason::kCount: break;
  }
  return "unknown";
}

std::string_view to_string(CloseReason r) {
  switch (r) {
    case CloseReason::Normal: return "normal";
    case CloseReason::IdleTimeout: return "idle_timeout";
    case CloseReason::DownstreamReset: return "downstream_reset";
    case CloseReason::UpstreamReset: return "upstream_reset";
    case CloseReason::DrainDeadline: return "drain_deadline";
    case CloseReason::Unenrolled: return "unenrolled";
    case CloseReason::TunnelLost: return "tunnel_lost";
    case CloseReason::PolicyChanged: return "policy_changed";
    case CloseReason::Denied: return "denied";
    case CloseReason::HttpError: return "http_error";
    case CloseReason::Error: return "error";
    case CloseReason::kCount: break;
  }
  return "unknown";
}

}  // namespace mesh::proxy
