#pragma once
// Internal: the certificate checks shared by loading our own credentials and by verifying a
// peer during the handshake. verify_chain() builds a path from the leaf to the trust bundle
// at a given calendar time (our Clock, never the system's); spiffe_identity() reads the
// leaf's one SPIFFE URI SAN. Each failure maps to one TlsFailure and the TLS alert to send.
// Stateless; callable from any thread (X509_STORE lookups are internally locked).
#include <openssl/base.h>
#include <openssl/x509.h>

#include <string>

#include "daemon/base/clock.hpp"
#include "tunnel/tls/spiffe_id.hpp"
#include "tunnel/tls/tls_failure.hpp"

namespace mesh::tunnel::x509 {

struct CheckResult {
  TlsFailure failure = TlsFailure::None;
  uint8_t alert = 0;   // TLS alert description to send when failure != None
  std::string detail;  // for logs: the X.509 error text, the offending SAN
  bool ok() const { return failure == TlsFailure::None; }
};

// The common validity window of a verified chain (root included).
struct ChainWindow {
  base::WallTime not_before;  // the latest notBefore
  base::WallTime not_after;   // the earliest notAfter
};

// purpose: X509_PURPOSE_SSL_CLIENT when checking a client, X509_PURPOSE_SSL_SERVER for a
// server. On success `window`, if given, receives the verified chain's validity window.
CheckResult verify_chain(X509_STORE* store, X509* leaf, STACK_OF(X509) * untrusted,
                         base::WallTime now, int purpose, ChainWindow* window = nullptr);

// The leaf must carry exactly one URI SAN, a valid SPIFFE ID, and must not be a CA.
CheckResult spiffe_identity(X509* leaf, SpiffeId& out);

}  // namespace mesh::tunnel::x509
