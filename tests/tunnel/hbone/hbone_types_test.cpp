#include "tunnel/hbone/hbone_types.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>

namespace hb = mesh::tunnel::hbone;

TEST_CASE("every connection failure and stream rejection has its own metric label") {
  std::set<std::string> labels;
  for (size_t i = 0; i < hb::kConnectionFailureCount; ++i) {
    auto l = hb::to_string(static_cast<hb::ConnectionFailure>(i));
    CHECK(l != "unknown");
    labels.insert(std::string(l));
  }
  CHECK(labels.size() == hb::kConnectionFailureCount);
  std::set<std::string> rejects;
  for (size_t i = 0; i < hb::kStreamRejectCount; ++i) {
    auto l = hb::to_string(static_cast<hb::StreamReject>(i));
    CHECK(l != "unknown");
    rejects.insert(std::string(l));
  }
  CHECK(rejects.size() == hb::kStreamRejectCount);
}
