// Proves that meshd's TLS code is built against and runs on BoringSSL from
// android-libboringssl-dev, never the system OpenSSL that is installed on the same machine.
#include <openssl/base.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <doctest/doctest.h>

#include <fstream>
#include <string>

#ifndef OPENSSL_IS_BORINGSSL
#error "tunnel/tls must be compiled against BoringSSL headers (/usr/include/android)"
#endif

extern "C" int BORINGSSL_self_test(void);  // exported by BoringSSL's libcrypto only

namespace {
constexpr std::string_view kBoringDir = "/usr/lib/x86_64-linux-gnu/android/";
}

TEST_CASE("the TLS library reports itself as BoringSSL at run time") {
  CHECK(std::string(OpenSSL_version(OPENSSL_VERSION)) == "BoringSSL");
  CHECK(BORINGSSL_self_test() == 1);
}

TEST_CASE("the loaded libssl and libcrypto come from the android BoringSSL directory only") {
  bssl::UniquePtr<SSL_CTX> ctx(SSL_CTX_new(TLS_method()));  // make sure libssl is in use
  REQUIRE(ctx);
  std::ifstream maps("/proc/self/maps");
  REQUIRE(maps.good());
  bool saw_ssl = false;
  bool saw_crypto = false;
  std::string line;
  while (std::getline(maps, line)) {
    auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    std::string path = line.substr(slash);
    auto base = path.substr(path.rfind('/') + 1);
    bool is_ssl = base.starts_with("libssl.so");
    bool is_crypto = base.starts_with("libcrypto.so");
    if (!is_ssl && !is_crypto) continue;
    CHECK_MESSAGE(path.starts_with(kBoringDir), "foreign TLS library mapped: ", path);
    saw_ssl |= is_ssl;
    saw_crypto |= is_crypto;
  }
  CHECK(saw_ssl);
  CHECK(saw_crypto);
}
