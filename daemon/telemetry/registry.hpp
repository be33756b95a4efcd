#pragma once
// Registry: the set of collectors that together make a /metrics scrape. Collectors are
// registered once at start-up by the composition root and read per-thread counters (which
// are safe to read from any thread). scrape() may be called from any thread; registration
// happens before the first scrape.
#include <functional>
#include <string>
#include <vector>

#include "daemon/telemetry/exposition.hpp"

namespace mesh::telemetry {

class Registry {
 public:
  using Collector = std::function<void(Exposition&)>;

  void add(Collector collector) { collectors_.push_back(std::move(collector)); }
  std::string scrape() const;

 private:
  std::vector<Collector> collectors_;
};

}  // namespace mesh::telemetry
