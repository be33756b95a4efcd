#include "tunnel/tls/tls_failure.hpp"

namespace mesh::tunnel {

std::string_view to_string(TlsFailure f) {
  switch (f) {
    case TlsFailure::None: return "none";
    case TlsFailure::NoPeerCertificate: return "no_peer_certificate";
    case TlsFailure::UnknownCa: return "unknown_ca";
    case TlsFailure::CertExpired: return "cert_expired";
    case TlsFailure::CertNotYetValid: return "cert_not_yet_valid";
    case TlsFailure::BadCertificate: return "bad_certificate";
    case TlsFailure::MissingUriSan: return "missing_uri_san";
    case TlsFailure::InvalidSpiffeId: return "invalid_spiffe_id";
    case TlsFailure::WrongTrustDomain: return "wrong_trust_domain";
    case TlsFailure::UnexpectedIdentity: return "unexpected_identity";
    case TlsFailure::ProtocolVersion: return "protocol_version";
    case TlsFailure::AlpnMissing: return "alpn_missing";
    case TlsFailure::AlpnMismatch: return "alpn_mismatch";
    case TlsFailure::HandshakeFailure: return "handshake_failure";
    case TlsFailure::PeerRejectedCertificate: return "peer_rejected_certificate";
    case TlsFailure::PeerAlert: return "peer_alert";
    case TlsFailure::NotTls: return "not_tls";
    case TlsFailure::BadRecord: return "bad_record";
    case TlsFailure::UnexpectedEof: return "unexpected_eof";
    case TlsFailure::Internal: return "internal";
  }
  return "unknown";
}

}  // namespace mesh::tunnel
