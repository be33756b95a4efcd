#pragma once
// CertificateAuthority: meshd's built-in CA. It holds an ECDSA P-256 CA key and certificate
// (a self-signed root made by create_root(), or a root/intermediate loaded from PEM) and
// issues X.509 SVIDs: ECDSA P-256 leaf certificates whose only identity is the SPIFFE URI
// SAN (critical, empty subject, as Istio issues them), with digitalSignature key usage,
// serverAuth+clientAuth EKU, CA:FALSE and a random 128-bit serial. Times come from the
// caller (its Clock), so tests control validity exactly. Immutable after creation; issue()
// may be called from any thread. PEM text in and out: files are daemon/identity's job.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/base/clock.hpp"
#include "daemon/base/result.hpp"
#include "tunnel/tls/spiffe_id.hpp"

namespace mesh::tunnel {

// A freshly issued leaf: everything a workload needs, as PEM text.
struct IssuedCert {
  std::string cert_chain_pem;    // leaf, then the CA's chain up to (not including) the root
  std::string key_pem;           // PKCS#8 ECDSA P-256; keep it 0600
  std::string trust_bundle_pem;  // the CA's root certificate(s)
  base::WallTime not_before;
  base::WallTime not_after;
};

// Everything about a leaf, for issue_leaf(); tests use it to craft certificates that must
// be refused (no URI SAN, foreign trust domain, expired, not yet valid).
struct LeafSpec {
  std::vector<std::string> uri_sans;  // normally exactly one SPIFFE ID
  base::WallTime not_before;
  base::WallTime not_after;
  bool is_ca = false;  // tests only: a "leaf" that claims to be a CA
};

namespace detail {
struct CaData;
}

class CertificateAuthority {
 public:
  // How far issue() backdates notBefore to tolerate clock skew between nodes.
  static constexpr base::Duration kBackdate = std::chrono::minutes(5);

  // A new root: ECDSA P-256 key, self-signed certificate with O=<trust domain>,
  // CN=meshd root CA, CA:TRUE (pathlen 1), keyCertSign+cRLSign, the SPIFFE ID of the trust
  // domain as URI SAN, valid from now-kBackdate to now+validity.
  static base::Result<CertificateAuthority> create_root(std::string_view trust_domain,
                                                        base::WallTime now,
                                                        base::Duration validity);
  // An existing CA. `ca_cert_pem` is the signing certificate (its key in `ca_key_pem`);
  // `chain_pem` the certificates between it and the root (empty for a root CA);
  // `root_pem` the trust bundle (empty: the CA certificate is the root). The trust domain
  // comes from the CA certificate's spiffe://<td> URI SAN or, failing that, its O= field.
  static base::Result<CertificateAuthority> from_pem(std::string_view ca_cert_pem,
                                                     std::string_view ca_key_pem,
                                                     std::string_view chain_pem,
                                                     std::string_view root_pem);

  // A leaf for `id`, valid from now-kBackdate to now+validity, clamped to the CA's own
  // validity. `id` must be in the CA's trust domain.
  base::Result<IssuedCert> issue(const SpiffeId& id, base::WallTime now,
                                 base::Duration validity) const;
  // A leaf exactly as specified, without policy checks.
  base::Result<IssuedCert> issue_leaf(const LeafSpec& spec) const;

  const std::string& trust_domain() const;
  std::string cert_pem() const;   // the signing certificate
  std::string key_pem() const;    // PKCS#8; keep it 0600
  std::string chain_pem() const;  // intermediates up to the root ("" for a root CA)
  std::string root_pem() const;   // the trust bundle
  base::WallTime not_before() const;
  base::WallTime not_after() const;

 private:
  explicit CertificateAuthority(std::shared_ptr<const detail::CaData> d) : data_(std::move(d)) {}
  // shared_ptr: immutable key material shared by copies (the daemon and meshctl hold one).
  std::shared_ptr<const detail::CaData> data_;
};

}  // namespace mesh::tunnel
