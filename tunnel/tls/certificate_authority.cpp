#include "tunnel/tls/certificate_authority.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include <fmt/format.h>

#include "tunnel/tls/x509_util.hpp"

namespace mesh::tunnel {
namespace detail {
struct CaData {
  bssl::UniquePtr<X509> cert;
  bssl::UniquePtr<EVP_PKEY> key;
  x509::CertList chain;  // intermediates above `cert`
  x509::CertList roots;
  std::string trust_domain;
};
}  // namespace detail

namespace {

using base::Errc;
using base::fail;

base::Result<bssl::UniquePtr<EVP_PKEY>> generate_p256() {
  bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
  bssl::UniquePtr<EVP_PKEY> pkey(EVP_PKEY_new());
  if (!ec || !pkey || !EC_KEY_generate_key(ec.get()) || !EVP_PKEY_assign_EC_KEY(pkey.get(), ec.release())) {
    return fail(Errc::Internal, "generate P-256 key: " + x509::drain_errors());
  }
  return pkey;
}

bool set_random_serial(X509* cert) {
  uint8_t bytes[16];
  RAND_bytes(bytes, sizeof bytes);
  bytes[0] = (bytes[0] & 0x7f) | 0x01;  // positive and exactly 16 bytes long
  bssl::UniquePtr<BIGNUM> bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  bssl::UniquePtr<ASN1_INTEGER> serial(bn ? BN_to_ASN1_INTEGER(bn.get(), nullptr) : nullptr);
  return serial && X509_set_serialNumber(cert, serial.get());
}

bool set_validity(X509* cert, base::WallTime from, base::WallTime to) {
  bssl::UniquePtr<ASN1_TIME> nb(ASN1_TIME_set(nullptr, static_cast<time_t>(x509::to_unix_seconds(from))));
  bssl::UniquePtr<ASN1_TIME> na(ASN1_TIME_set(nullptr, static_cast<time_t>(x509::to_unix_seconds(to))));
  return nb && na && X509_set1_notBefore(cert, nb.get()) && X509_set1_notAfter(cert, na.get());
}

bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  bssl::UniquePtr<X509_EXTENSION> ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
  return ext && X509_add_ext(cert, ext.get(), -1);
}

bool add_uri_sans(X509* cert, const std::vector<std::string>& uris, bool critical) {
  if (uris.empty()) return true;
  bssl::UniquePtr<GENERAL_NAMES> names(sk_GENERAL_NAME_new_null());
  for (const std::string& uri : uris) {
    bssl::UniquePtr<ASN1_IA5STRING> str(ASN1_IA5STRING_new());
    bssl::UniquePtr<GENERAL_NAME> gn(GENERAL_NAME_new());
    if (!str || !gn || !ASN1_STRING_set(str.get(), uri.data(), static_cast<int>(uri.size()))) {
      return false;
    }
    GENERAL_NAME_set0_value(gn.get(), GEN_URI, str.release());
    if (!sk_GENERAL_NAME_push(names.get(), gn.get())) return false;
    gn.release();
  }
  return X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), critical ? 1 : 0,
                           X509V3_ADD_DEFAULT) == 1;
}

// Everything but the extensions specific to a root or a leaf.
base::Result<bssl::UniquePtr<X509>> new_cert(EVP_PKEY* subject_key, base::WallTime from,
                                             base::WallTime to) {
  bssl::UniquePtr<X509> cert(X509_new());
  if (!cert || !X509_set_version(cert.get(), X509_VERSION_3) || !set_random_serial(cert.get()) ||
      !set_validity(cert.get(), from, to) || !X509_set_pubkey(cert.get(), subject_key)) {
    return fail(Errc::Internal, "build certificate: " + x509::drain_errors());
  }
  return cert;
}

std::string trust_domain_of(X509* ca) {
  for (const std::string& uri : x509::uri_sans(ca)) {
    constexpr std::string_view kScheme = "spiffe://";
    if (uri.starts_with(kScheme) && uri.find('/', kScheme.size()) == std::string::npos) {
      return uri.substr(kScheme.size());
    }
  }
  char org[256] = {};
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_organizationName, org, sizeof org);
  return n > 0 ? std::string(org, static_cast<size_t>(n)) : std::string();
}

}  // namespace

base::Result<CertificateAuthority> CertificateAuthority::create_root(std::string_view trust_domain,
                                                                     base::WallTime now,
                                                                     base::Duration validity) {
  if (auto st = SpiffeId::validate_trust_domain(trust_domain); !st) return fail(st.error().wrap("create root CA"));
  if (validity <= base::Duration::zero()) return fail(Errc::Invalid, "create root CA: validity must be positive");
  auto key = generate_p256();
  if (!key) return fail(key.error());
  auto cert = new_cert(key->get(), now - kBackdate, now + validity);
  if (!cert) return fail(cert.error());
  X509* c = cert->get();
  X509_NAME* name = X509_get_subject_name(c);
  std::string td(trust_domain);
  bool ok = X509_NAME_add_entry_by_NID(name, NID_organizationName, MBSTRING_UTF8,
                                       reinterpret_cast<const uint8_t*>(td.c_str()), -1, -1, 0) &&
            X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                       reinterpret_cast<const uint8_t*>("meshd root CA"), -1, -1, 0) &&
            X509_set_issuer_name(c, name) &&
            add_ext(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:1") &&
            add_ext(c, c, NID_key_usage, "critical,keyCertSign,cRLSign") &&
            add_ext(c, c, NID_subject_key_identifier, "hash") &&
            add_uri_sans(c, {"spiffe://" + td}, false) &&
            X509_sign(c, key->get(), EVP_sha256()) > 0;
  if (!ok) return fail(Errc::Internal, "create root CA: " + x509::drain_errors());
  auto d = std::make_shared<detail::CaData>();
  d->roots.push_back(bssl::UpRef(c));
  d->cert = std::move(*cert);
  d->key = std::move(*key);
  d->trust_domain = std::move(td);
  return CertificateAuthority(std::move(d));
}

base::Result<CertificateAuthority> CertificateAuthority::from_pem(std::string_view ca_cert_pem,
                                                                  std::string_view ca_key_pem,
                                                                  std::string_view chain_pem,
                                                                  std::string_view root_pem) {
  auto d = std::make_shared<detail::CaData>();
  auto certs = x509::parse_certs(ca_cert_pem, "CA certificate");
  if (!certs) return fail(certs.error());
  if (certs->size() != 1) return fail(Errc::Invalid, "CA certificate: expected exactly one certificate");
  d->cert = std::move(certs->front());
  auto key = x509::parse_key(ca_key_pem, "CA key");
  if (!key) return fail(key.error());
  d->key = std::move(*key);
  if (!X509_check_private_key(d->cert.get(), d->key.get())) {
    ERR_clear_error();
    return fail(Errc::Invalid, "CA key: does not match the CA certificate");
  }
  if (X509_check_ca(d->cert.get()) != 1) {
    return fail(Errc::Invalid, "CA certificate: not a CA (basicConstraints CA:TRUE missing)");
  }
  if (!chain_pem.empty()) {
    auto chain = x509::parse_certs(chain_pem, "CA chain");
    if (!chain) return fail(chain.error());
    d->chain = std::move(*chain);
  }
  if (root_pem.empty()) {
    d->roots.push_back(bssl::UpRef(d->cert));
  } else {
    auto roots = x509::parse_certs(root_pem, "root certificate");
    if (!roots) return fail(roots.error());
    d->roots = std::move(*roots);
  }
  d->trust_domain = trust_domain_of(d->cert.get());
  if (auto st = SpiffeId::validate_trust_domain(d->trust_domain); !st) {
    return fail(Errc::Invalid, "CA certificate: no trust domain (URI SAN spiffe://<td> or O=<td>)");
  }
  return CertificateAuthority(std::move(d));
}

base::Result<IssuedCert> CertificateAuthority::issue(const SpiffeId& id, base::WallTime now,
                                                     base::Duration validity) const {
  if (id.empty()) return fail(Errc::Invalid, "issue: empty identity");
  if (id.trust_domain() != data_->trust_domain) {
    return fail(Errc::Invalid, fmt::format("issue '{}': not in the CA's trust domain '{}'", id.str(),
                                           data_->trust_domain));
  }
  if (validity <= base::Duration::zero()) return fail(Errc::Invalid, "issue: validity must be positive");
  LeafSpec spec;
  spec.uri_sans = {id.str()};
  spec.not_before = std::max(now - kBackdate, not_before());
  spec.not_after = std::min(now + validity, not_after());
  if (spec.not_after <= now) {
    return fail(Errc::Invalid, fmt::format("issue '{}': the CA certificate has expired", id.str()));
  }
  return issue_leaf(spec);
}

base::Result<IssuedCert> CertificateAuthority::issue_leaf(const LeafSpec& spec) const {
  auto key = generate_p256();
  if (!key) return fail(key.error());
  auto cert = new_cert(key->get(), spec.not_before, spec.not_after);
  if (!cert) return fail(cert.error());
  X509* c = cert->get();
  X509* ca = data_->cert.get();
  // An empty subject makes the SAN the only name, so RFC 5280 §4.2.1.6 wants it critical.
  bool ok = X509_set_issuer_name(c, X509_get_subject_name(ca)) &&
            add_ext(c, ca, NID_basic_constraints, spec.is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
            add_ext(c, ca, NID_key_usage, spec.is_ca ? "critical,digitalSignature,keyCertSign"
                                                     : "critical,digitalSignature") &&
            add_ext(c, ca, NID_ext_key_usage, "serverAuth,clientAuth") &&
            add_ext(c, ca, NID_authority_key_identifier, "keyid") &&
            add_uri_sans(c, spec.uri_sans, true) &&
            X509_sign(c, data_->key.get(), EVP_sha256()) > 0;
  if (!ok) return fail(Errc::Internal, "issue leaf: " + x509::drain_errors());
  IssuedCert out;
  out.cert_chain_pem = x509::cert_to_pem(c);
  // A root CA's own certificate is the trust anchor and stays out of the chain; an
  // intermediate CA sends itself and what lies between it and the root.
  bool is_root = X509_check_issued(ca, ca) == X509_V_OK;
  if (!is_root) out.cert_chain_pem += x509::cert_to_pem(ca) + x509::certs_to_pem(data_->chain);
  out.key_pem = x509::key_to_pem(key->get());
  out.trust_bundle_pem = root_pem();
  out.not_before = x509::not_before(c);
  out.not_after = x509::not_after(c);
  return out;
}

const std::string& CertificateAuthority::trust_domain() const { return data_->trust_domain; }
std::string CertificateAuthority::cert_pem() const { return x509::cert_to_pem(data_->cert.get()); }
std::string CertificateAuthority::key_pem() const { return x509::key_to_pem(data_->key.get()); }
std::string CertificateAuthority::chain_pem() const { return x509::certs_to_pem(data_->chain); }
std::string CertificateAuthority::root_pem() const { return x509::certs_to_pem(data_->roots); }
base::WallTime CertificateAuthority::not_before() const { return x509::not_before(data_->cert.get()); }
base::WallTime CertificateAuthority::not_after() const { return x509::not_after(data_->cert.get()); }

}  // namespace mesh::tunnel
