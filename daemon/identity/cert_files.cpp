#include "daemon/identity/cert_files.hpp"

#include <sys/stat.h>

#include <fmt/format.h>

#include "daemon/identity/pem_files.hpp"

namespace mesh::identity {

using base::Errc;
using base::fail;

std::string join(const std::string& dir, const char* file) {
  return dir.empty() || dir.back() == '/' ? dir + file : dir + "/" + file;
}

base::Result<tunnel::Credentials> load_credentials(const std::string& dir, base::WallTime now) {
  auto chain = read_file(join(dir, kCertChainFile));
  if (!chain) return fail(chain.error());
  auto key = read_file(join(dir, kKeyFile));
  if (!key) return fail(key.error());
  auto bundle = read_file(join(dir, kRootCertFile));
  if (!bundle) return fail(bundle.error());
  auto creds = tunnel::Credentials::from_pem(*chain, *key, *bundle, now);
  if (!creds) return fail(creds.error().wrap(fmt::format("'{}'", dir)));
  return creds;
}

base::Status save_issued(const std::string& dir, const tunnel::IssuedCert& issued) {
  if (auto st = ensure_directory(dir, 0700); !st) return st;
  // The key first: a reader that sees the new certificate must find the matching key.
  if (auto st = write_file_atomic(join(dir, kKeyFile), issued.key_pem, 0600); !st) return st;
  if (auto st = write_file_atomic(join(dir, kCertChainFile), issued.cert_chain_pem, 0644); !st) return st;
  return write_file_atomic(join(dir, kRootCertFile), issued.trust_bundle_pem, 0644);
}

base::Result<tunnel::CertificateAuthority> load_ca(const std::string& dir) {
  auto cert = read_file(join(dir, kCaCertFile));
  if (!cert) return fail(cert.error());
  auto key = read_file(join(dir, kCaKeyFile));
  if (!key) return fail(key.error());
  std::string root, chain;
  if (stamp_of(join(dir, kRootCertFile)).size >= 0) {
    auto r = read_file(join(dir, kRootCertFile));
    if (!r) return fail(r.error());
    root = std::move(*r);
  }
  if (stamp_of(join(dir, kCertChainFile)).size >= 0) {
    auto c = read_file(join(dir, kCertChainFile));
    if (!c) return fail(c.error());
    chain = std::move(*c);
  }
  auto ca = tunnel::CertificateAuthority::from_pem(*cert, *key, chain, root);
  if (!ca) return fail(ca.error().wrap(fmt::format("CA directory '{}'", dir)));
  return ca;
}

base::Status save_ca(const std::string& dir, const tunnel::CertificateAuthority& ca, bool overwrite) {
  if (!overwrite && stamp_of(join(dir, kCaKeyFile)).size >= 0) {
    return fail(Errc::Exists, fmt::format("'{}' already exists (use --force to replace the CA)", join(dir, kCaKeyFile)));
  }
  if (auto st = ensure_directory(dir, 0700); !st) return st;
  if (auto st = write_file_atomic(join(dir, kCaKeyFile), ca.key_pem(), 0600); !st) return st;
  if (auto st = write_file_atomic(join(dir, kCaCertFile), ca.cert_pem(), 0644); !st) return st;
  return write_file_atomic(join(dir, kRootCertFile), ca.root_pem(), 0644);
}

}  // namespace mesh::identity
