#pragma once
// Internal: the parsed BoringSSL objects behind a Credentials. Read-only after construction.
#include <openssl/base.h>
#include <openssl/x509.h>

#include "tunnel/tls/spiffe_id.hpp"
#include "tunnel/tls/x509_util.hpp"

namespace mesh::tunnel::detail {

struct CredentialsData {
  x509::CertList chain;  // leaf first
  bssl::UniquePtr<EVP_PKEY> key;
  x509::CertList bundle;
  bssl::UniquePtr<X509_STORE> store;  // built from `bundle`
  SpiffeId identity;
  base::WallTime not_before;
  base::WallTime not_after;
};

}  // namespace mesh::tunnel::detail
