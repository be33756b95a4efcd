#include "tunnel/tls/x509_util.hpp"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstring>

#include <fmt/format.h>

namespace mesh::tunnel::x509 {
namespace {

using base::Errc;
using base::fail;

bssl::UniquePtr<BIO> read_bio(std::string_view text) {
  return bssl::UniquePtr<BIO>(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string bio_to_string(BIO* bio) {
  const uint8_t* data = nullptr;
  size_t len = 0;
  BIO_mem_contents(bio, &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

}  // namespace

std::string drain_errors() {
  std::string out;
  while (uint32_t e = ERR_get_error()) {
    if (!out.empty()) out += "; ";
    const char* lib = ERR_lib_error_string(e);
    const char* reason = ERR_reason_error_string(e);
    out += fmt::format("{}:{}", lib ? lib : "?", reason ? reason : std::to_string(ERR_GET_REASON(e)));
  }
  return out;
}

base::Result<CertList> parse_certs(std::string_view pem, std::string_view what) {
  // Text outside BEGIN/END lines (comments, "subject=" lines) is skipped, as OpenSSL does.
  CertList certs;
  auto bio = read_bio(pem);
  for (;;) {
    char* name = nullptr;
    char* header = nullptr;
    uint8_t* data = nullptr;
    long len = 0;
    ERR_clear_error();
    if (!PEM_read_bio(bio.get(), &name, &header, &data, &len)) {
      uint32_t err = ERR_peek_last_error();
      ERR_clear_error();
      if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) break;
      return fail(Errc::Invalid, fmt::format("{}: malformed PEM block after certificate {}", what,
                                             certs.size()));
    }
    bssl::UniquePtr<char> name_owner(name), header_owner(header);
    bssl::UniquePtr<uint8_t> data_owner(data);
    if (std::strcmp(name, "CERTIFICATE") != 0) {
      return fail(Errc::Invalid,
                  fmt::format("{}: unexpected PEM block '{}' (want CERTIFICATE)", what, name));
    }
    const uint8_t* p = data;
    bssl::UniquePtr<X509> cert(d2i_X509(nullptr, &p, len));
    if (!cert || p != data + len) {
      ERR_clear_error();
      return fail(Errc::Invalid,
                  fmt::format("{}: certificate {} is not valid DER", what, certs.size() + 1));
    }
    certs.push_back(std::move(cert));
  }
  if (certs.empty()) return fail(Errc::Invalid, fmt::format("{}: no certificate found", what));
  return certs;
}

base::Result<bssl::UniquePtr<EVP_PKEY>> parse_key(std::string_view pem, std::string_view what) {
  auto bio = read_bio(pem);
  ERR_clear_error();
  bssl::UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    ERR_clear_error();
    return fail(Errc::Invalid, fmt::format("{}: no readable private key (PEM PKCS#8, EC or RSA)", what));
  }
  return key;
}

std::string cert_to_pem(X509* cert) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  return bio_to_string(bio.get());
}

std::string certs_to_pem(const CertList& certs) {
  std::string out;
  for (const auto& c : certs) out += cert_to_pem(c.get());
  return out;
}

std::string key_to_pem(EVP_PKEY* key) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  return bio_to_string(bio.get());
}

std::vector<std::string> uri_sans(X509* cert) {
  std::vector<std::string> out;
  bssl::UniquePtr<GENERAL_NAMES> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return out;
  for (size_t i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    if (gn->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = gn->d.uniformResourceIdentifier;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                     static_cast<size_t>(ASN1_STRING_length(uri)));
  }
  return out;
}

base::WallTime to_wall(const ASN1_TIME* t) {
  static const ASN1_TIME* const epoch = ASN1_TIME_set(nullptr, 0);
  int days = 0;
  int secs = 0;
  if (!t || !ASN1_TIME_diff(&days, &secs, epoch, t)) return base::WallTime{};
  return base::WallTime{} + std::chrono::seconds(int64_t{days} * 86400 + secs);
}

base::WallTime not_before(X509* cert) { return to_wall(X509_get0_notBefore(cert)); }
base::WallTime not_after(X509* cert) { return to_wall(X509_get0_notAfter(cert)); }

int64_t to_unix_seconds(base::WallTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

bool is_p256(EVP_PKEY* key) {
  if (EVP_PKEY_id(key) != EVP_PKEY_EC) return false;
  const EC_KEY* ec = EVP_PKEY_get0_EC_KEY(key);
  return ec && EC_GROUP_get_curve_name(EC_KEY_get0_group(ec)) == NID_X9_62_prime256v1;
}

}  // namespace mesh::tunnel::x509
