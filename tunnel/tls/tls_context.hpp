#pragma once
// TlsContext: the immutable TLS configuration for one local identity in one role. It owns a
// BoringSSL SSL_CTX holding our certificate chain and key, the trust bundle, and the fixed
// meshd/ztunnel policy: TLS 1.3 only; X25519 then P-256 key exchange; we sign with ECDSA
// P-256 and accept ECDSA or RSA-PSS peers (istiod issues RSA by default); ALPN "h2" required
// on both sides; no SNI; no session resumption or tickets; a client certificate is required
// by servers. Peer checks (see TlsSession) read the calendar time from `clock`.
//
// Rotation is "build a new context": sessions hold a shared_ptr to the context they started
// with and keep it for their lifetime; new sessions use whatever the credential manager hands
// out now. A context may be shared by sessions on any number of threads.
#include <memory>

#include "daemon/base/clock.hpp"
#include "daemon/base/result.hpp"
#include "tunnel/tls/credentials.hpp"
#include "tunnel/tls/verified_chain_cache.hpp"

struct ssl_ctx_st;

namespace mesh::tunnel {

enum class TlsRole : uint8_t { Client, Server };

struct TlsContextOptions {
  // Peer chains remembered as verified (see VerifiedChainCache); 0 verifies every chain.
  size_t verified_chain_cache = 4096;
};

class TlsContext {
 public:
  // `clock` must outlive the context and every session made from it.
  static base::Result<std::shared_ptr<const TlsContext>> create(TlsRole role,
                                                                const Credentials& credentials,
                                                                const base::Clock& clock,
                                                                TlsContextOptions options = {});
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  TlsRole role() const { return role_; }
  const Credentials& credentials() const { return credentials_; }
  const SpiffeId& identity() const { return credentials_.identity(); }
  // Servers accept clients of this trust domain only (ztunnel's TrustDomainVerifier).
  std::string_view trust_domain() const { return identity().trust_domain(); }
  const base::Clock& clock() const { return clock_; }
  ssl_ctx_st* native() const { return ctx_; }
  // Peer chains already verified against this context's trust bundle (thread-safe).
  VerifiedChainCache& chain_cache() const { return chain_cache_; }

 private:
  TlsContext(TlsRole role, Credentials credentials, const base::Clock& clock, ssl_ctx_st* ctx,
             size_t cache_capacity)
      : role_(role), credentials_(std::move(credentials)), clock_(clock), ctx_(ctx), chain_cache_(cache_capacity) {}

  TlsRole role_;
  Credentials credentials_;
  const base::Clock& clock_;
  ssl_ctx_st* ctx_;  // owned; SSL_CTX_free in the destructor
  mutable VerifiedChainCache chain_cache_;
};

// The two contexts of one identity: as a client (dialling a peer) and as a server (15008).
struct TlsContexts {
  std::shared_ptr<const TlsContext> client;
  std::shared_ptr<const TlsContext> server;
};

}  // namespace mesh::tunnel
