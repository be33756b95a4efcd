#include "tunnel/tls/tls_failure.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>

using mesh::tunnel::TlsFailure;

TEST_CASE("every TLS failure reason has its own metric label") {
  std::set<std::string> labels;
  for (size_t i = 0; i < mesh::tunnel::kTlsFailureCount; ++i) {
    auto label = mesh::tunnel::to_string(static_cast<TlsFailure>(i));
    CHECK(label != "unknown");
    CHECK(label.find(' ') == std::string_view::npos);
    labels.insert(std::string(label));
  }
  CHECK(labels.size() == mesh::tunnel::kTlsFailureCount);
  CHECK(mesh::tunnel::to_string(TlsFailure::WrongTrustDomain) == "wrong_trust_domain");
}
