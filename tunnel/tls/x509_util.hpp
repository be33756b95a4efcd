#pragma once
// Internal helpers over BoringSSL's X.509 and PEM functions, shared by Credentials, the CA
// and peer verification: PEM decoding and encoding, URI SAN extraction, ASN.1 time
// conversion, and BoringSSL's error queue as text. Not part of the public tunnel API (it
// exposes BoringSSL types). Stateless; callable from any thread.
#include <openssl/base.h>
#include <openssl/x509.h>

#include <string>
#include <string_view>
#include <vector>

#include "daemon/base/clock.hpp"
#include "daemon/base/result.hpp"

namespace mesh::tunnel::x509 {

using CertList = std::vector<bssl::UniquePtr<X509>>;

// Every CERTIFICATE block of `pem`, in order. Fails on garbage, on other block types and
// on an empty input (`what` names the input in the message).
base::Result<CertList> parse_certs(std::string_view pem, std::string_view what);
// One private key (PKCS#8, SEC1 "EC PRIVATE KEY" or PKCS#1).
base::Result<bssl::UniquePtr<EVP_PKEY>> parse_key(std::string_view pem, std::string_view what);

std::string cert_to_pem(X509* cert);
std::string certs_to_pem(const CertList& certs);
std::string key_to_pem(EVP_PKEY* key);  // PKCS#8

// The URI SANs of `cert` (all of them, valid SPIFFE or not).
std::vector<std::string> uri_sans(X509* cert);

base::WallTime to_wall(const ASN1_TIME* t);
base::WallTime not_before(X509* cert);
base::WallTime not_after(X509* cert);
int64_t to_unix_seconds(base::WallTime t);

// True when `key` is an EC key on P-256.
bool is_p256(EVP_PKEY* key);

// Drains BoringSSL's thread-local error queue into "lib:reason; lib:reason" (or "" if empty).
std::string drain_errors();

}  // namespace mesh::tunnel::x509
