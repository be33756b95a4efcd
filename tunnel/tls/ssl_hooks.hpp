#pragma once
// Internal: how TlsContext's SSL_CTX callbacks reach the TlsSession that owns an SSL. The
// session registers itself in the SSL's ex_data; callbacks record the first failure reason.
#include <openssl/ssl.h>

#include <string>

#include "tunnel/tls/tls_failure.hpp"

namespace mesh::tunnel::detail {

// The ALPN protocol list in wire format (length-prefixed): just "h2".
inline constexpr uint8_t kAlpnH2[] = {2, 'h', '2'};

// Records `f` as the session's failure unless one is already recorded (the first cause wins).
void record_failure(SSL* ssl, TlsFailure f, std::string detail);

}  // namespace mesh::tunnel::detail
