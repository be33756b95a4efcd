#pragma once
// TlsFailure: why a TLS session was refused or torn down, one value per reason, so the
// daemon can count rejections by reason (metrics label = to_string()). The first group is
// decided by our own checks of the peer's certificate; the others come from negotiation,
// the peer's alerts and the record layer.
#include <cstdint>
#include <string_view>

namespace mesh::tunnel {

enum class TlsFailure : uint8_t {
  None,
  // Our checks of the peer certificate.
  NoPeerCertificate,   // server side: the client sent no certificate
  UnknownCa,           // the chain does not lead to a root in the trust bundle
  CertExpired,         // a certificate in the chain is past notAfter (by our Clock)
  CertNotYetValid,     // a certificate in the chain is before notBefore
  BadCertificate,      // other chain failures: signature, key usage, constraints, a CA leaf
  MissingUriSan,       // the leaf has no URI SAN
  InvalidSpiffeId,     // the URI SAN is not exactly one valid SPIFFE ID
  WrongTrustDomain,    // server side: the client is not in our trust domain
  UnexpectedIdentity,  // client side: the server is none of the expected identities
  // Negotiation.
  ProtocolVersion,     // the peer does not offer TLS 1.3
  AlpnMissing,         // the peer offered or selected no ALPN protocol
  AlpnMismatch,        // the peer's ALPN protocols do not include "h2"
  HandshakeFailure,    // no shared group or signature algorithm; other negotiation errors
  // The peer refused us.
  PeerRejectedCertificate,  // fatal certificate alert from the peer (bad/unknown CA/expired/required)
  PeerAlert,                // any other fatal alert from the peer
  // Record layer and transport.
  NotTls,          // the first bytes are not a TLS handshake record (plaintext, HTTP)
  BadRecord,       // decryption failure, malformed or unexpected record after the handshake
  UnexpectedEof,   // the transport closed without close_notify (reported by the caller)
  Internal,        // BoringSSL failed on our side (allocation, internal error)
};

inline constexpr size_t kTlsFailureCount = static_cast<size_t>(TlsFailure::Internal) + 1;

std::string_view to_string(TlsFailure f);

}  // namespace mesh::tunnel
