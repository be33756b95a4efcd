// Writes a /metrics scrape of request metrics with a few varied series (gRPC, flags, names
// that need escaping, an overflow) to stdout, for promtool_check.py.
#include <chrono>
#include <cstdio>

#include "daemon/telemetry/request_metrics.hpp"

using namespace mesh::telemetry;
using namespace std::chrono_literals;

int main() {
  RequestMetrics m(2, 3);
  RequestRecord r;
  r.source = {"web", "shop", "spiffe://cluster.local/ns/shop/sa/web"};
  r.destination = {"reviews", "shop", "spiffe://cluster.local/ns/shop/sa/reviews"};
  r.destination_service = "reviews.shop.svc.cluster.local";
  r.response_code = 200;
  r.duration = 12ms;
  m.recorder(0).record(r);
  m.recorder(1).record(r);
  r.request_protocol = RequestProtocol::Grpc;
  r.grpc_status = 14;
  r.response_flags = {ResponseFlag::NoHealthyUpstream, ResponseFlag::UpstreamRetryLimitExceeded};
  r.destination.workload = "we\"ird\\name";
  r.duration = 2h;
  m.recorder(0).record(r);
  r.response_code = 503;
  m.recorder(1).record(r);  // over the cap of 3
  Exposition e;
  m.collect(e);
  std::fputs(e.text().c_str(), stdout);
  return 0;
}
