#include "tunnel/hbone/hbone_types.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>

namespace hb = mesh::tunnel::hbone;
namespace http = mesh::tunnel::http;

TEST_CASE("every stream rejection has its own metric label, the engine's ones included") {
  std::set<std::string> rejects;
  for (size_t i = 0; i < hb::kStreamRejectCount; ++i) {
    auto l = hb::to_string(static_cast<hb::StreamReject>(i));
    CHECK(l != "unknown");
    rejects.insert(std::string(l));
  }
  CHECK(rejects.size() == hb::kStreamRejectCount);
  // The engine reports its own reasons with the same numbers and labels.
  for (size_t i = 0; i < http::kStreamRejectCount; ++i) {
    CHECK(hb::to_string(static_cast<hb::StreamReject>(i)) == http::to_string(static_cast<http::StreamReject>(i)));
  }
}
