#include "daemon/telemetry/registry.hpp"

namespace mesh::telemetry {

std::string Registry::scrape() const {
  Exposition e;
  for (const auto& c : collectors_) c(e);
  return e.take();
}

}  // namespace mesh::telemetry
