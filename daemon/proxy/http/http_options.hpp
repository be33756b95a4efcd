#pragma once
// HttpOptions: the daemon's [http] settings as the data path reads them (docs/config-daemon.md).
// One copy per worker; immutable while it runs.
#include <chrono>
#include <cstdint>
#include <vector>

#include "daemon/base/clock.hpp"
#include "tunnel/http/sniff.hpp"

namespace mesh::proxy {

struct HttpOptions {
  base::Duration detect_timeout = std::chrono::seconds(5);
  base::Duration request_headers_timeout = std::chrono::seconds(15);
  std::vector<uint16_t> server_first_ports{tunnel::http::kDefaultServerFirstPorts.begin(),
                                           tunnel::http::kDefaultServerFirstPorts.end()};
};

}  // namespace mesh::proxy
