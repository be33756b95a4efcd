#pragma once
// Credentials: one workload identity's certificate chain (leaf first, then intermediates),
// its private key and the trust bundle that peers are verified against, parsed from PEM
// and checked once. Immutable; copies share the parsed objects, so a Credentials may be
// handed to any thread. TlsContext::create() turns it into a client or server context.
//
// from_pem() checks: the chain parses; the leaf has exactly one URI SAN and it is a valid
// SPIFFE ID; the key is ECDSA P-256 and matches the leaf; the bundle has at least one
// certificate; the chain verifies to the bundle at `now` (so an expired, not-yet-valid or
// foreign-CA file is refused at load, not at the first handshake).
#include <memory>
#include <string>
#include <string_view>

#include "daemon/base/clock.hpp"
#include "daemon/base/result.hpp"
#include "tunnel/tls/spiffe_id.hpp"

namespace mesh::tunnel {

namespace detail {
struct CredentialsData;  // BoringSSL objects; defined in credentials_data.hpp
}

class Credentials {
 public:
  static base::Result<Credentials> from_pem(std::string_view cert_chain_pem,
                                            std::string_view key_pem,
                                            std::string_view trust_bundle_pem,
                                            base::WallTime now);

  const SpiffeId& identity() const;
  base::WallTime not_before() const;  // the leaf's
  base::WallTime not_after() const;   // the earliest notAfter in the chain
  std::string serial_hex() const;     // the leaf's serial number
  size_t trust_bundle_size() const;   // number of trusted root certificates

  const detail::CredentialsData& data() const { return *data_; }

 private:
  explicit Credentials(std::shared_ptr<const detail::CredentialsData> d) : data_(std::move(d)) {}
  // shared_ptr: the parsed objects are immutable and shared by every copy and every
  // TlsContext built from them, which may live on different threads.
  std::shared_ptr<const detail::CredentialsData> data_;
};

}  // namespace mesh::tunnel
