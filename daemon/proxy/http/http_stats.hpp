#pragma once
// HttpStats: what one worker's HTTP connections count. Written by that worker, read by the
// metrics scrape (base::Counter); the arrays are indexed by the tunnel/http enums whose
// to_string() names are the label values.
#include <array>

#include "daemon/base/counter.hpp"
#include "tunnel/http/h1_codec.hpp"
#include "tunnel/http/h2_types.hpp"
#include "tunnel/http/sniff.hpp"

namespace mesh::proxy {

struct HttpStats {
  // meshd_protocol_detections_total{outcome}
  std::array<base::Counter, tunnel::http::kDetectOutcomeCount> detections;
  // meshd_http_request_errors_total{reason}: requests refused as malformed (4xx, closed)
  std::array<base::Counter, tunnel::http::kH1ErrorCount> request_errors;
  // meshd_http_upstream_errors_total{reason}: responses refused as malformed (502)
  std::array<base::Counter, tunnel::http::kH1ErrorCount> response_errors;
  base::Counter requests;         // request heads decoded
  base::Counter denied;           // answered 403 by authorization
  base::Counter bad_paths;        // paths that could not be normalized (400)
  base::Counter header_timeouts;  // a request head not complete in time (408)
  base::Counter upgrades;         // Upgrade/CONNECT handed to the byte relay after 101/2xx
  // The client side (outbound)
  base::Counter no_route;                // answered 404: the host has routes, none matched
  base::Counter redirects;               // answered with a route's redirect
  base::Counter upstream_dials;          // upstream connections opened for a request's endpoint
  base::Counter upstream_dial_failures;  // ... that could not be made (503 UF)
  // HTTP/2 (H2Inbound); [0] is the client's side, [1] the application's (proxy::Side)
  base::Counter h2_streams;  // downstream streams with a request head (also in `requests`)
  std::array<base::Counter, 2> h2_resets;  // RST_STREAMs received and passed to the other side
  // connections that failed for an HTTP/2 error, by side and ConnectionFailure
  std::array<std::array<base::Counter, tunnel::http::kConnectionFailureCount>, 2> h2_failures;

  void detected(tunnel::http::DetectOutcome o) { detections[static_cast<size_t>(o)].inc(); }
};

}  // namespace mesh::proxy
