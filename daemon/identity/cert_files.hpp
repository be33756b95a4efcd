#pragma once
// The on-disk layout of certificate material, compatible with Istio's conventions:
//
//   workload directory (a PEM directory source, or `meshctl ca issue --out`):
//     cert-chain.pem   leaf certificate, then intermediates (not the root)
//     key.pem          the leaf's private key, PKCS#8, mode 0600
//     root-cert.pem    trust bundle: the root(s) peers must chain to
//
//   CA directory (`meshctl ca init --dir`, or Istio's "cacerts" plug-in layout):
//     ca-cert.pem      the signing certificate
//     ca-key.pem       its private key, mode 0600
//     root-cert.pem    the root(s); for a self-signed root, the same as ca-cert.pem
//     cert-chain.pem   optional: intermediates between ca-cert.pem and the root
//
// Blocking file I/O on small files; control thread and meshctl only.
#include <string>

#include "daemon/base/clock.hpp"
#include "daemon/base/result.hpp"
#include "tunnel/tls/certificate_authority.hpp"
#include "tunnel/tls/credentials.hpp"

namespace mesh::identity {

inline constexpr const char* kCertChainFile = "cert-chain.pem";
inline constexpr const char* kKeyFile = "key.pem";
inline constexpr const char* kRootCertFile = "root-cert.pem";
inline constexpr const char* kCaCertFile = "ca-cert.pem";
inline constexpr const char* kCaKeyFile = "ca-key.pem";

std::string join(const std::string& dir, const char* file);

// Loads and checks (see tunnel::Credentials::from_pem) a workload directory at `now`.
base::Result<tunnel::Credentials> load_credentials(const std::string& dir, base::WallTime now);
// Writes a workload directory: key 0600, certificates 0644. The directory is created 0700.
base::Status save_issued(const std::string& dir, const tunnel::IssuedCert& issued);

base::Result<tunnel::CertificateAuthority> load_ca(const std::string& dir);
// Writes a CA directory; refuses to replace an existing ca-key.pem unless `overwrite`.
base::Status save_ca(const std::string& dir, const tunnel::CertificateAuthority& ca, bool overwrite);

}  // namespace mesh::identity
