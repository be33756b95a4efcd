#include "daemon/telemetry/request_metrics.hpp"

#include <chrono>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>

#include <doctest/doctest.h>

#include "daemon/telemetry/registry.hpp"

using namespace mesh::telemetry;
using namespace std::chrono_literals;

// Counts operator new calls on this thread while `g_counting` is set, to check that recording
// into an existing series does not allocate.
namespace {
thread_local bool g_counting = false;
thread_local size_t g_allocations = 0;
}  // namespace

void* operator new(size_t n) {
  if (g_counting) ++g_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace {

RequestRecord web_to_reviews(uint16_t code = 200, mesh::base::Duration d = 3ms) {
  RequestRecord r;
  r.reporter = Reporter::Destination;
  r.source = {"web", "shop", "spiffe://cluster.local/ns/shop/sa/web"};
  r.destination = {"reviews-v1", "shop", "spiffe://cluster.local/ns/shop/sa/reviews"};
  r.destination_service = "reviews.shop.svc.cluster.local";
  r.response_code = code;
  r.duration = d;
  return r;
}

constexpr std::string_view kLabels =
    "reporter=\"destination\",source_workload=\"web\",source_workload_namespace=\"shop\","
    "source_principal=\"spiffe://cluster.local/ns/shop/sa/web\",destination_workload=\"reviews-v1\","
    "destination_workload_namespace=\"shop\",destination_principal=\"spiffe://cluster.local/ns/shop/sa/reviews\","
    "destination_service=\"reviews.shop.svc.cluster.local\",request_protocol=\"http\",response_code=\"200\","
    "grpc_response_status=\"\",response_flags=\"-\"";

std::string scrape(const RequestMetrics& m) {
  Exposition e;
  m.collect(e);
  return e.take();
}

bool has_line(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

}  // namespace

TEST_CASE("with no requests the families are declared and empty") {
  RequestMetrics m(2);
  CHECK(scrape(m) ==
        "# HELP istio_requests_total Requests handled, by reporter, peers, service, protocol and outcome.\n"
        "# TYPE istio_requests_total counter\n"
        "# HELP istio_request_duration_milliseconds Request duration, from its first byte to the response's last.\n"
        "# TYPE istio_request_duration_milliseconds histogram\n"
        "# HELP meshd_request_metrics_series Request metric series held, summed over workers.\n"
        "# TYPE meshd_request_metrics_series gauge\n"
        "meshd_request_metrics_series 0\n"
        "# HELP meshd_request_metrics_series_limit The cap on request metric series (cardinality protection).\n"
        "# TYPE meshd_request_metrics_series_limit gauge\n"
        "meshd_request_metrics_series_limit 10000\n"
        "# HELP meshd_request_metrics_overflow_total Requests left out of the istio_request* metrics because the "
        "series cap was reached.\n"
        "# TYPE meshd_request_metrics_overflow_total counter\n"
        "meshd_request_metrics_overflow_total 0\n");
}

TEST_CASE("a request is counted and its duration lands in Istio's buckets") {
  RequestMetrics m(1);
  m.recorder(0).record(web_to_reviews(200, 3ms));
  m.recorder(0).record(web_to_reviews(200, 7500us));
  std::string text = scrape(m);
  std::string labels(kLabels);
  CHECK(has_line(text, "istio_requests_total{" + labels + "} 2"));
  std::string b = "istio_request_duration_milliseconds_bucket{" + labels;
  CHECK(has_line(text, b + ",le=\"0.5\"} 0"));
  CHECK(has_line(text, b + ",le=\"1\"} 0"));
  CHECK(has_line(text, b + ",le=\"5\"} 1"));
  CHECK(has_line(text, b + ",le=\"10\"} 2"));
  CHECK(has_line(text, b + ",le=\"3600000\"} 2"));
  CHECK(has_line(text, b + ",le=\"+Inf\"} 2"));
  CHECK(has_line(text, "istio_request_duration_milliseconds_sum{" + labels + "} 10.5"));
  CHECK(has_line(text, "istio_request_duration_milliseconds_count{" + labels + "} 2"));
  // 19 finite bounds (Envoy's defaults, from 0.5 ms to an hour) and +Inf.
  size_t buckets = 0;
  for (size_t at = text.find("_bucket{"); at != std::string::npos; at = text.find("_bucket{", at + 1)) ++buckets;
  CHECK(buckets == 20);
}

TEST_CASE("a duration on a bucket's bound counts in that bucket") {
  struct Row {
    mesh::base::Duration d;
    std::string_view first_le;  // the smallest bound whose bucket holds it
  };
  const Row rows[] = {{0ns, "0.5"},          {500us, "0.5"},         {500001ns, "1"}, {1ms, "1"},
                      {3600s, "3600000"},    {3600s + 1ns, "+Inf"},  {-1ms, "0.5"}};
  for (const auto& r : rows) {
    CAPTURE(r.first_le);
    RequestMetrics m(1);
    m.recorder(0).record(web_to_reviews(200, r.d));
    std::string text = scrape(m);
    std::string b = "istio_request_duration_milliseconds_bucket{" + std::string(kLabels);
    CHECK(has_line(text, b + ",le=\"" + std::string(r.first_le) + "\"} 1"));
    size_t ones = 0;  // bucket lines holding the request
    for (size_t at = text.find(b); at != std::string::npos; at = text.find(b, at + 1)) {
      if (text.compare(text.find('\n', at) - 4, 4, "\"} 1") == 0) ++ones;
    }
    size_t index = 0;
    for (double bound : kRequestDurationBucketsMs) {
      std::string le;
      append_value(le, bound);
      if (le == r.first_le) break;
      ++index;
    }
    CHECK(ones == kRequestDurationBucketsMs.size() + 1 - index);  // cumulative from there on
  }
}

TEST_CASE("missing names read unknown, gRPC status and flags are labels") {
  RequestMetrics m(1);
  RequestRecord r;
  r.reporter = Reporter::Source;
  r.request_protocol = RequestProtocol::Grpc;
  r.response_code = 200;
  r.grpc_status = 14;
  r.response_flags = {ResponseFlag::UpstreamRetryLimitExceeded, ResponseFlag::NoHealthyUpstream};
  m.recorder(0).record(r);
  RequestRecord same = r;
  same.source.workload = "unknown";  // the same series as an empty name
  m.recorder(0).record(same);
  std::string text = scrape(m);
  CHECK(has_line(text,
                 "istio_requests_total{reporter=\"source\",source_workload=\"unknown\",source_workload_namespace="
                 "\"unknown\",source_principal=\"unknown\",destination_workload=\"unknown\","
                 "destination_workload_namespace=\"unknown\",destination_principal=\"unknown\",destination_service="
                 "\"unknown\",request_protocol=\"grpc\",response_code=\"200\",grpc_response_status=\"14\","
                 "response_flags=\"UH,URX\"} 2"));
  CHECK(m.series() == 1);
}

TEST_CASE("the scrape merges the workers' copies of a series and keeps distinct ones apart") {
  RequestMetrics m(3);
  m.recorder(0).record(web_to_reviews(200));
  m.recorder(1).record(web_to_reviews(200));
  m.recorder(1).record(web_to_reviews(503));
  m.recorder(2).record(web_to_reviews(200));
  std::string text = scrape(m);
  std::string ok(kLabels);
  std::string unavailable = ok;
  unavailable.replace(unavailable.find("response_code=\"200\""), 19, "response_code=\"503\"");
  CHECK(has_line(text, "istio_requests_total{" + ok + "} 3"));
  CHECK(has_line(text, "istio_requests_total{" + unavailable + "} 1"));
  CHECK(has_line(text, "istio_request_duration_milliseconds_count{" + ok + "} 3"));
  CHECK(has_line(text, "meshd_request_metrics_series 4"));  // one per worker and label set
  CHECK(text.find("istio_requests_total{" + ok) == text.rfind("istio_requests_total{" + ok));  // written once
}

TEST_CASE("past the series cap new label sets are dropped and counted, existing ones still count") {
  RequestMetrics m(2, 2);
  m.recorder(0).record(web_to_reviews(200));
  m.recorder(1).record(web_to_reviews(404));
  m.recorder(0).record(web_to_reviews(500));  // a third series: over the cap
  m.recorder(1).record(web_to_reviews(200));  // worker 1's own copy of 200: over the cap too
  m.recorder(0).record(web_to_reviews(200));  // existing: counted
  m.recorder(1).record(web_to_reviews(404));  // existing: counted
  CHECK(m.series() == 2);
  CHECK(m.recorder(0).overflow() == 1);
  CHECK(m.recorder(1).overflow() == 1);
  std::string text = scrape(m);
  CHECK(has_line(text, "istio_requests_total{" + std::string(kLabels) + "} 2"));
  CHECK(text.find("response_code=\"500\"") == std::string::npos);
  CHECK(has_line(text, "meshd_request_metrics_overflow_total 2"));
  CHECK(has_line(text, "meshd_request_metrics_series 2"));
  CHECK(has_line(text, "meshd_request_metrics_series_limit 2"));
  RequestMetrics none(1, 0);
  none.recorder(0).record(web_to_reviews());
  CHECK(none.recorder(0).overflow() == 1);
}

TEST_CASE("recording into an existing series allocates nothing") {
  RequestMetrics m(1);
  RequestRecord r = web_to_reviews();
  m.recorder(0).record(r);  // creates the series
  g_allocations = 0;
  g_counting = true;
  for (int i = 0; i < 100; ++i) m.recorder(0).record(r);
  g_counting = false;
  CHECK(g_allocations == 0);
  g_counting = true;
  m.recorder(0).record(web_to_reviews(201));  // a new series does allocate
  g_counting = false;
  CHECK(g_allocations > 0);
}

TEST_CASE("a scrape while a worker records sees a consistent, growing count") {
  RequestMetrics m(1);
  constexpr int kRequests = 20000;
  std::thread worker([&m] {
    for (int i = 0; i < kRequests; ++i) m.recorder(0).record(web_to_reviews(static_cast<uint16_t>(200 + i % 50)));
  });
  size_t last = 0;
  for (int i = 0; i < 50; ++i) {
    std::string text = scrape(m);
    size_t series = 0;
    for (size_t at = text.find("istio_requests_total{"); at != std::string::npos;
         at = text.find("istio_requests_total{", at + 1)) {
      ++series;
    }
    CHECK(series >= last);
    last = series;
  }
  worker.join();
  double total = 0;
  std::string text = scrape(m);
  for (size_t at = text.find("istio_requests_total{"); at != std::string::npos;
       at = text.find("istio_requests_total{", at + 1)) {
    total += std::stod(text.substr(text.find("} ", at) + 2));
  }
  CHECK(total == kRequests);
  CHECK(m.series() == 50);
}

TEST_CASE("request metrics are served through the registry like every other collector") {
  RequestMetrics m(1);
  Registry registry;
  registry.add([&m](Exposition& e) { m.collect(e); });
  m.recorder(0).record(web_to_reviews());
  CHECK(registry.scrape().find("istio_requests_total{" + std::string(kLabels) + "} 1\n") != std::string::npos);
}
