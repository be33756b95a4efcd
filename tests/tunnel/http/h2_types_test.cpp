#include "tunnel/http/h2_types.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>

namespace h2 = mesh::tunnel::http;

TEST_CASE("every connection failure, stream rejection and event kind has its own label") {
  std::set<std::string> labels;
  for (size_t i = 0; i < h2::kConnectionFailureCount; ++i) {
    auto l = h2::to_string(static_cast<h2::ConnectionFailure>(i));
    CHECK(l != "unknown");
    labels.insert(std::string(l));
  }
  CHECK(labels.size() == h2::kConnectionFailureCount);
  std::set<std::string> rejects;
  for (size_t i = 0; i < h2::kStreamRejectCount; ++i) {
    auto l = h2::to_string(static_cast<h2::StreamReject>(i));
    CHECK(l != "unknown");
    rejects.insert(std::string(l));
  }
  CHECK(rejects.size() == h2::kStreamRejectCount);
  std::set<std::string> kinds;
  for (size_t i = 0; i <= static_cast<size_t>(h2::EventKind::GoAway); ++i) {
    auto l = h2::to_string(static_cast<h2::EventKind>(i));
    CHECK(l != "unknown");
    kinds.insert(std::string(l));
  }
  CHECK(kinds.size() == static_cast<size_t>(h2::EventKind::GoAway) + 1);
}
